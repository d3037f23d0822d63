"""The security tests go through the gateway of the e2e stack, as an attacker would."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.stack import Stack


async def call(
    api: aiohttp.ClientSession,
    method: str,
    path: str,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Token {token}"
    async with api.request(method, path, headers=sent, **kwargs) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.read()


async def signup(api: aiohttp.ClientSession, name: str) -> dict[str, Any]:
    """A registered user: `token`, `refreshToken` and the rest of the User object."""
    body = {"user": {"username": name, "email": f"{name}@example.com", "password": "password1"}}
    status, answer = await call(api, "POST", "/api/users", json=body)
    assert status == 201, answer
    return answer["user"]  # type: ignore[no-any-return]


__all__ = ["Stack", "call", "signup"]
