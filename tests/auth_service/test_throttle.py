"""auth_service/throttle.py: failed logins limited per account and per IP."""

from __future__ import annotations

from pytest_aiohttp import AiohttpClient

from auth_service.app import create_app
from tests.factories import auth_settings, register
from tests.infra import Infra
from tests.typing import AppClient


async def test_ten_failed_logins_lock_the_account_with_retry_after(auth: AppClient) -> None:
    await register(auth, "jake", "jake@example.com")
    wrong = {"user": {"email": "jake@example.com", "password": "wrong-password"}}
    for _ in range(10):
        assert (await auth.post("/api/users/login", json=wrong)).status == 422
    right = {"user": {"email": "jake@example.com", "password": "jakejake1"}}
    locked = await auth.post("/api/users/login", json=right)
    assert locked.status == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60


async def test_failures_from_one_ip_are_limited_across_accounts(
    infra: Infra, aiohttp_client: AiohttpClient
) -> None:
    client = await aiohttp_client(create_app(auth_settings(infra, LOGIN_MAX_FAILURES_IP="3")))
    headers = {"X-Client-IP": "203.0.113.7"}
    for i in range(3):
        wrong = {"user": {"email": f"user{i}@example.com", "password": "wrong-password"}}
        assert (await client.post("/api/users/login", json=wrong, headers=headers)).status == 422
    blocked = await client.post(
        "/api/users/login",
        json={"user": {"email": "new@example.com", "password": "whatever1"}},
        headers=headers,
    )
    assert blocked.status == 429
    other_ip = await client.post(
        "/api/users/login",
        json={"user": {"email": "new@example.com", "password": "whatever1"}},
        headers={"X-Client-IP": "198.51.100.1"},
    )
    assert other_ip.status == 422
