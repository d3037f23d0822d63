"""Data builders shared by the tests: users and their headers, calls through the gateway,
events and the workers that move them. Fixtures stay in the conftest files; what a test
builds with its own hands is here."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as aioredis

from auth_service.settings import AuthSettings
from shared.events import Event, EventConsumer, OutboxRelay, record_event
from shared.settings import Env
from shared.web.middleware import Metrics
from tests.infra import Infra
from tests.typing import AppClient

# Users (auth_service's app, or any app that trusts the gateway's identity headers).

FAST_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024"}
# What a profile without an image shows: the default avatar, under the default PUBLIC_URL.
DEFAULT_IMAGE = "http://127.0.0.1:8080/api/static/avatar.svg"


def auth_settings(infra: Infra, **extra: str) -> AuthSettings:
    return AuthSettings.from_env(Env(infra.env(**{**FAST_HASHING, **extra})))


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


# Calls through the gateway of a stack, as a client (or an attacker) makes them.


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


# Events: recorded, handled, and the workers that move them.


async def write_events(pool: asyncpg.Pool, count: int, event_type: str = "dish.cooked") -> None:
    async with pool.acquire() as connection, connection.transaction():
        for number in range(count):
            await record_event(connection, event_type, {"number": number})


def effect_handler(name: str) -> Callable[[asyncpg.Connection, Event], Awaitable[None]]:
    async def handle(connection: asyncpg.Connection, event: Event) -> None:
        await connection.execute(
            "INSERT INTO effects (event_id, handled_by) VALUES ($1, $2)", event.id, name
        )

    return handle


def consumer(pool: asyncpg.Pool, redis: aioredis.Redis, name: str, **options: Any) -> EventConsumer:
    handlers = options.pop("handlers", None) or {"dish.cooked": effect_handler(name)}
    return EventConsumer(
        pool,
        redis,
        "kitchen",
        ["test"],
        handlers,
        Metrics("kitchen"),
        consumer_name=name,
        block_ms=50,
        **options,
    )


@contextlib.asynccontextmanager
async def running(*workers: OutboxRelay | EventConsumer) -> AsyncIterator[None]:
    """Runs the workers' loops; consumers end as a service ends them (their stop flag, then
    the current read), the relay, which has none, is cancelled."""
    tasks = [asyncio.ensure_future(worker.run()) for worker in workers]
    try:
        yield
    finally:
        for worker, task in zip(workers, tasks, strict=True):
            if isinstance(worker, EventConsumer):
                worker.stop()
            else:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
