"""gateway/admission.py: a request's route, its token and the ended sessions, checked before any
service is called."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from shared.contracts.revocation import Ended, announce
from tests.gateway.conftest import Echo, GatewayFactory
from tests.gateway.helpers import bearer
from tests.typing import AppClient


@pytest.mark.parametrize("path", ["/api/nothing", "/api/internal/users", "/internal/users", "/api"])
async def test_unknown_and_internal_paths_are_404_in_the_api_format(
    gateway: AppClient, echoes: dict[str, Echo], path: str
) -> None:
    response = await gateway.get(path, headers=bearer(echoes))
    assert response.status == 404
    assert "errors" in await response.json()
    assert all(not echo.seen for echo in echoes.values())


async def test_a_wrong_method_on_a_known_path_is_405(gateway: AppClient) -> None:
    response = await gateway.patch("/api/tags", json={})
    assert response.status == 405


async def test_a_route_that_needs_a_token_is_401_without_calling_the_service(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    response = await gateway.get("/api/articles/feed")
    assert response.status == 401
    assert (await response.json())["errors"]["body"] == ["authentication is required"]
    assert not echoes["posts"].seen


async def test_a_revoked_token_is_401(
    gateway: AppClient, echoes: dict[str, Echo], redis: aioredis.Redis
) -> None:
    access = echoes["auth"].keys.issue(7, "jake", "session")
    headers = {"Authorization": f"Bearer {access.token}"}
    assert (await gateway.get("/api/articles/feed", headers=headers)).status == 200
    await announce(redis, [Ended("session", access.expires_at)])
    for _ in range(100):  # the announcement reaches the gateway over pub/sub
        response = await gateway.get("/api/articles/feed", headers=headers)
        if response.status == 401:
            break
        await asyncio.sleep(0.02)
    assert response.status == 401
    assert (await response.json())["errors"]["body"] == ["the token was revoked"]


async def test_tokens_revoked_before_the_gateway_started_are_refused(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    access = echoes["auth"].keys.issue(7, "jake", "session")
    echoes["auth"].revoked.append(Ended("session", access.expires_at))
    gateway = await make_gateway()
    response = await gateway.get(
        "/api/articles/feed", headers={"Authorization": f"Token {access.token}"}
    )
    assert response.status == 401
