"""An auth_service app from its factory, with cheap password hashing for speed."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from auth_service.app import create_app
from auth_service.settings import AuthSettings
from shared.settings import Env
from tests.infra import Infra
from tests.typing import AppClient

FAST_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024"}
# What a profile without an image shows: the default avatar, under the default PUBLIC_URL.
DEFAULT_IMAGE = "http://127.0.0.1:8080/api/static/avatar.svg"


def auth_settings(infra: Infra, **extra: str) -> AuthSettings:
    return AuthSettings.from_env(Env(infra.env(**{**FAST_HASHING, **extra})))


@pytest.fixture
async def auth(infra: Infra, aiohttp_client: AiohttpClient) -> AppClient:
    return await aiohttp_client(create_app(auth_settings(infra)))


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def as_user(user: dict[str, Any]) -> dict[str, str]:
    """The headers the gateway sends for this user after verifying their token."""
    token_claims = claims(user["token"])
    return {
        "Authorization": f"Token {user['token']}",
        "X-User-Id": token_claims["sub"],
        "X-Username": token_claims["username"],
        "X-User-Role": token_claims.get("role", "user"),
    }


async def register(
    client: AppClient,
    username: str = "jake",
    email: str | None = None,
    password: str = "jakejake1",
) -> dict[str, Any]:
    response = await client.post(
        "/api/users",
        json={
            "user": {
                "username": username,
                "email": email or f"{username}@example.com",
                "password": password,
            }
        },
    )
    assert response.status == 201, await response.text()
    return (await response.json())["user"]  # type: ignore[no-any-return]
