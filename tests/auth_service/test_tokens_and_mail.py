"""Refresh rotation, logout, e-mail confirmation, password reset, brute-force limit and keys."""

import asyncio
from typing import Any

import jwt
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pytest_aiohttp import AiohttpClient

from auth_service.app import create_app
from auth_service.signing import KeyRing
from tests import redis_text
from tests.factories import as_user, auth_settings, claims, register
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


async def test_a_confirmation_token_works_once(auth: AppClient, infra: Infra) -> None:
    await register(auth, "jake", "jake@example.com")
    token = token_in(await wait_for_mail(infra.mail_api, "jake@example.com", "Confirm"))
    assert (await auth.post("/api/auth/confirm", json={"token": token})).status == 200
    again = await auth.post("/api/auth/confirm", json={"token": token})
    assert again.status == 422
    assert (await again.json())["errors"]["token"] == ["is invalid"]


async def test_resend_sends_a_new_confirmation(auth: AppClient, infra: Infra) -> None:
    user = await register(auth, "jake", "jake@example.com")
    await wait_for_mail(infra.mail_api, "jake@example.com", "Confirm")
    assert (await auth.post("/api/auth/confirm/resend", headers=as_user(user))).status == 202


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


async def test_password_reset_by_mail(auth: AppClient, infra: Infra) -> None:
    user = await register(auth, "jake", "jake@example.com", "old-password")
    response = await auth.post("/api/auth/password-reset", json={"email": "jake@example.com"})
    assert response.status == 202
    token = token_in(await wait_for_mail(infra.mail_api, "jake@example.com", "Reset"))
    done = await auth.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "new-password"}
    )
    assert done.status == 200
    login = await auth.post(
        "/api/users/login", json={"user": {"email": "jake@example.com", "password": "new-password"}}
    )
    assert login.status == 200
    # The token is spent, and sessions from before the reset are over.
    again = await auth.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "other-password"}
    )
    assert again.status == 422
    refresh = await auth.post("/api/auth/refresh", json={"refreshToken": user["refreshToken"]})
    assert refresh.status == 401


async def test_password_reset_for_an_unknown_address_is_202_and_sends_nothing(
    auth: AppClient, infra: Infra
) -> None:
    response = await auth.post("/api/auth/password-reset", json={"email": "ghost@example.com"})
    assert response.status == 202
    with pytest.raises(AssertionError, match="no mail"):
        await wait_for_mail(infra.mail_api, "ghost@example.com", "Reset", timeout=0.5)


async def test_expired_reset_token_is_refused(auth: AppClient, infra: Infra, db: Any) -> None:
    await register(auth, "jake", "jake@example.com")
    await auth.post("/api/auth/password-reset", json={"email": "jake@example.com"})
    token = token_in(await wait_for_mail(infra.mail_api, "jake@example.com", "Reset"))
    await db.execute("UPDATE auth.email_tokens SET expires_at = now() - interval '1 second'")
    response = await auth.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "new-password"}
    )
    assert response.status == 422


async def test_unconfirmed_login_is_refused_when_confirmation_is_required(
    infra: Infra, aiohttp_client: AiohttpClient
) -> None:
    client = await aiohttp_client(
        create_app(auth_settings(infra, AUTH_REQUIRE_CONFIRMED_EMAIL="true"))
    )
    await register(client, "jake", "jake@example.com")
    response = await client.post(
        "/api/users/login", json={"user": {"email": "jake@example.com", "password": "jakejake1"}}
    )
    assert response.status == 403


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


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def test_key_rotation_keeps_old_tokens_valid_while_both_keys_are_published(
    infra: Infra, aiohttp_client: AiohttpClient
) -> None:
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    old_ring = KeyRing.from_settings(auth_settings(infra, JWT_SIGNING_KEY=_pem(old_key)))
    old_token = old_ring.issue(1, "jake", "session").token

    rotated = auth_settings(
        infra, JWT_SIGNING_KEY=_pem(new_key), JWT_EXTRA_PUBLIC_KEYS=_public_pem(old_key)
    )
    client = await aiohttp_client(create_app(rotated))
    jwks = await (await client.get("/api/.well-known/jwks.json")).json()
    kids = {key["kid"] for key in jwks["keys"]}
    assert old_ring.signing_jwk["kid"] in kids and len(kids) == 2

    # A verifier that knows only the published JWKS accepts the old token and a new one.
    new_token = KeyRing.from_settings(rotated).issue(2, "anna", "s").token
    for token in (old_token, new_token):
        kid = jwt.get_unverified_header(token)["kid"]
        jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
        key = jwt.PyJWK(jwk).key
        decoded = jwt.decode(token, key, algorithms=["EdDSA"], audience="chopchop")
        assert decoded["sub"] in ("1", "2")


async def test_registration_publishes_user_registered(
    auth: AppClient, redis: aioredis.Redis
) -> None:
    user = await register(auth, "jake")
    for _ in range(100):
        entries = await redis_text.entries(redis, "events:auth")
        if entries:
            break
        await asyncio.sleep(0.05)
    _, fields = entries[0]
    assert fields["type"] == "user.registered"
    assert fields["producer"] == "auth"
    assert '"username": "jake"' in fields["data"]
    assert str(claims(user["token"])["sub"]) in fields["data"]
