"""Rate limits shared through Redis, CORS, body limits and security headers."""

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devstack.embedded import start_valkey
from tests.gateway.conftest import Echo, GatewayFactory
from tests.typing import AppClient


async def test_the_anonymous_limit_is_shared_by_two_gateway_replicas(
    make_gateway: GatewayFactory,
) -> None:
    first = await make_gateway(RATE_LIMIT_ANON="5")
    second = await make_gateway(RATE_LIMIT_ANON="5")
    statuses = []
    for index in range(6):
        response = await (first if index % 2 == 0 else second).get("/api/tags")
        statuses.append(response.status)
    assert statuses == [200] * 5 + [429]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Limit"] == "5"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert (await response.json())["errors"]["body"] == ["rate limit exceeded; slow down"]


async def test_users_are_limited_per_user_not_per_ip(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    gateway = await make_gateway(RATE_LIMIT_ANON="1", RATE_LIMIT_USER="3")
    keys = echoes["auth"].keys
    jake = {"Authorization": f"Token {keys.issue(1, 'jake', 's').token}"}
    anna = {"Authorization": f"Token {keys.issue(2, 'anna', 's').token}"}
    jakes = [(await gateway.get("/api/tags", headers=jake)).status for _ in range(4)]
    annas = [(await gateway.get("/api/tags", headers=anna)).status for _ in range(3)]
    assert jakes == [200, 200, 200, 429]
    assert annas == [200, 200, 200]


async def test_a_limit_of_zero_turns_it_off(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(RATE_LIMIT_ANON="0")
    response = await gateway.get("/api/tags")
    assert response.status == 200
    assert "RateLimit-Limit" not in response.headers


async def test_requests_pass_when_redis_is_down(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    server, url = start_valkey(tmp_path / "valkey", persist=False)
    gateway = await make_gateway(REDIS_URL=url, RATE_LIMIT_ANON="1")
    server.stop()
    statuses = [(await gateway.get("/api/tags")).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    metrics = await (await gateway.get("/metrics")).text()
    failures = re.search(r"^rate_limit_backend_failures_total (\S+)$", metrics, re.MULTILINE)
    # Each refused check counts; the background flush may fail (and count) meanwhile too.
    assert failures is not None and float(failures.group(1)) >= 3


async def test_cors_preflight_is_answered_by_the_gateway(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    gateway = await make_gateway(CORS_ORIGINS="https://app.example")
    response = await gateway.options(
        "/api/articles",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert not echoes["posts"].seen
    actual = await gateway.get("/api/tags", headers={"Origin": "https://app.example"})
    assert actual.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-Request-ID" in actual.headers["Access-Control-Expose-Headers"]


async def test_cors_refuses_an_unknown_origin(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(CORS_ORIGINS="https://app.example")
    response = await gateway.options(
        "/api/articles",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status == 403
    plain = await gateway.get("/api/tags", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in plain.headers


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


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
    ],
)
async def test_security_headers_are_on_every_answer(
    gateway: AppClient, header: str, value: str
) -> None:
    for path in ("/api/tags", "/api/nothing", "/health"):
        assert (await gateway.get(path)).headers[header] == value
