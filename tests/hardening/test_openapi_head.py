"""The OpenAPI documents list no HEAD twin of the GET operations; HEAD is still answered."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.services import base_url
from tests.typing import AppClient


def head_operations(document: dict[str, Any]) -> list[str]:
    return [path for path, operations in document["paths"].items() if "head" in operations]


async def test_no_head_twins_in_the_merged_document(api: aiohttp.ClientSession) -> None:
    async with api.get("/api/openapi.json") as response:
        document = await response.json()
    assert response.status == 200
    assert head_operations(document) == []
    assert any("get" in operations for operations in document["paths"].values())
    async with api.head("/api/articles") as response:
        assert response.status == 200


async def test_no_head_twins_in_a_services_document(posts: AppClient) -> None:
    async with aiohttp.ClientSession() as raw:
        async with raw.get(f"{base_url(posts)}/openapi.json") as response:
            document = await response.json()
        assert head_operations(document) == []
        async with raw.head(f"{base_url(posts)}/api/tags") as response:
            assert response.status == 200
