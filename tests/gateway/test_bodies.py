"""gateway/bodies.py: request bodies under their limits, uploads streamed."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

from tests.gateway.conftest import Echo
from tests.typing import AppClient


def _auth(echoes: dict[str, Echo]) -> dict[str, str]:
    return {"Authorization": f"Token {echoes['auth'].keys.issue(1, 'jake', 's').token}"}


async def test_an_oversize_json_body_is_413_before_reaching_the_service(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    response = await gateway.post(
        "/api/articles",
        data=io.BytesIO(b"x" * (1024**2 + 1)),
        headers={**_auth(echoes), "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert "errors" in await response.json()
    assert not echoes["posts"].seen


async def test_uploads_stream_through_up_to_their_larger_limit(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    body = b"\x89PNG" + b"0" * (4 * 1024**2)
    response = await gateway.post(
        "/api/media", data=io.BytesIO(body), headers={**_auth(echoes), "Content-Type": "image/png"}
    )
    assert response.status == 200
    assert (await response.json())["size"] == len(body)


async def test_an_oversize_upload_is_413(gateway: AppClient, echoes: dict[str, Echo]) -> None:
    response = await gateway.post(
        "/api/media",
        data=io.BytesIO(b"0" * (7 * 1024**2)),
        headers={**_auth(echoes), "Content-Type": "image/png"},
    )
    assert response.status == 413


async def test_an_oversize_chunked_upload_is_cut_off(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"0" * 1024**2

    response = await gateway.post(
        "/api/media", data=chunks(), headers={**_auth(echoes), "Content-Type": "image/png"}
    )
    assert response.status == 413
    assert not any(seen["size"] > 6 * 1024**2 for seen in echoes["posts"].seen)
