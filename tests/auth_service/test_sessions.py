"""auth_service/sessions.py: sessions and their tokens, refreshed, reused, expired and ended."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.factories import as_user, claims, register
from tests.infra import Infra
from tests.mail import token_in, wait_for_mail
from tests.typing import AppClient


async def test_full_flow_register_confirm_login_refresh_logout(
    auth: AppClient, infra: Infra, redis: aioredis.Redis
) -> None:
    user = await register(auth, "jake", "jake@example.com")
    mail = await wait_for_mail(infra.mail_api, "jake@example.com", "Confirm your e-mail")
    confirm = await auth.post("/api/auth/confirm", json={"token": token_in(mail)})
    assert confirm.status == 200
    me = await (await auth.get("/api/user", headers=as_user(user))).json()
    assert me["user"]["emailConfirmed"] is True

    login = await auth.post(
        "/api/users/login", json={"user": {"email": "jake@example.com", "password": "jakejake1"}}
    )
    session = (await login.json())["user"]
    refreshed = await auth.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert refreshed.status == 200
    rotated = (await refreshed.json())["user"]
    assert rotated["refreshToken"] != session["refreshToken"]
    assert claims(rotated["token"])["sid"] == claims(session["token"])["sid"]

    logout = await auth.post("/api/auth/logout", headers=as_user(rotated))
    assert logout.status == 204
    # The session is on the list the gateways load, durably: Redis holds nothing of it.
    listed = await (await auth.get("/internal/sessions/revoked")).json()
    assert [entry["id"] for entry in listed["sessions"]] == [claims(session["token"])["sid"]]
    assert not await redis.keys("revoked:*")
    after = await auth.post("/api/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert after.status == 401


async def test_refresh_token_reuse_revokes_the_whole_family(auth: AppClient) -> None:
    user = await register(auth)
    first = await auth.post("/api/auth/refresh", json={"refreshToken": user["refreshToken"]})
    newer = (await first.json())["user"]["refreshToken"]
    reuse = await auth.post("/api/auth/refresh", json={"refreshToken": user["refreshToken"]})
    assert reuse.status == 401
    assert "already used" in (await reuse.json())["errors"]["body"][0]
    # The thief's reuse ended the session: the legitimate newer token is dead too.
    assert (await auth.post("/api/auth/refresh", json={"refreshToken": newer})).status == 401


async def test_concurrent_uses_of_one_refresh_token_succeed_once(auth: AppClient) -> None:
    user = await register(auth)
    responses = await asyncio.gather(
        *(
            auth.post("/api/auth/refresh", json={"refreshToken": user["refreshToken"]})
            for _ in range(5)
        )
    )
    assert sorted(r.status for r in responses) == [200, 401, 401, 401, 401]


async def test_expired_refresh_token_is_refused(auth: AppClient, db: Any) -> None:
    user = await register(auth)
    await db.execute("UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second'")
    response = await auth.post("/api/auth/refresh", json={"refreshToken": user["refreshToken"]})
    assert response.status == 401


@pytest.mark.parametrize("token", ["", "x" * 201, "not-a-token"])
async def test_bad_refresh_tokens_are_refused(auth: AppClient, token: str) -> None:
    response = await auth.post("/api/auth/refresh", json={"refreshToken": token})
    assert response.status in (401, 422)
