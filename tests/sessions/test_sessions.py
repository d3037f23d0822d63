"""Sessions through two gateway replicas: the login token lasts as long as its session, and
each way of ending a session ends it at once on every replica, for good."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.tokens import JWKS_MIN_REFETCH
from tests.factories import claims
from tests.infra import Infra
from tests.mail import token_in, wait_for_mail
from tests.sessions.conftest import SessionStack, private_pem, public_pem, started_stack
from tests.waiting import until

# The gateway accepts a token up to 5 s past its expiry (clock skew between hosts).
GATEWAY_LEEWAY = 5


async def ended_everywhere(sessions: SessionStack, *tokens: str) -> None:
    """Both replicas refuse every token within moments (pub/sub, not a periodic reload)."""

    async def refused() -> bool:
        for token in tokens:
            if await sessions.statuses(token) != [401, 401]:
                return False
        return True

    await until(refused, timeout=5)


async def test_the_login_token_outlives_the_access_ttl_and_a_refreshed_one_does_not(
    infra: Infra, tmp_path: Path
) -> None:
    stack = await started_stack(infra, tmp_path, ACCESS_TOKEN_TTL="1", SESSION_TTL="3600")
    try:
        await stack.register("jake")
        user = await stack.login("jake")
        status, body = await stack.call(
            "POST", "/api/auth/refresh", json={"refreshToken": user["refreshToken"]}
        )
        assert status == 200, body
        refreshed = body["user"]["token"]
        assert claims(refreshed)["sid"] == claims(user["token"])["sid"]
        assert claims(refreshed)["exp"] - claims(refreshed)["iat"] == 1
        assert claims(user["token"])["exp"] - claims(user["token"])["iat"] == 3600

        await asyncio.sleep(1 + GATEWAY_LEEWAY + 1.5)

        # A RealWorld front-end writes with the token of login long after ACCESS_TOKEN_TTL.
        status, body = await stack.call(
            "PUT", "/api/user", user["token"], json={"user": {"bio": "still here"}}
        )
        assert (status, body["user"]["bio"]) == (200, "still here")
        assert await stack.statuses(user["token"]) == [200, 200]
        assert await stack.statuses(refreshed) == [401, 401]
    finally:
        await stack.close()


async def test_a_session_lasts_thirty_days_by_default(sessions: SessionStack) -> None:
    user = await sessions.register("jake")
    token = claims(user["token"])
    assert token["exp"] - token["iat"] == 30 * 24 * 3600
    assert abs(token["iat"] - time.time()) < 60


async def test_signing_out_ends_the_session_on_both_replicas(sessions: SessionStack) -> None:
    await sessions.register("jake")
    user = await sessions.login("jake")
    other_device = await sessions.login("jake")
    _, body = await sessions.call(
        "POST", "/api/auth/refresh", json={"refreshToken": user["refreshToken"]}
    )
    refreshed = body["user"]
    assert await sessions.statuses(user["token"]) == [200, 200]

    status, _ = await sessions.call("POST", "/api/auth/logout", user["token"], gateway=1)
    assert status == 204
    await ended_everywhere(sessions, user["token"], refreshed["token"])
    status, _ = await sessions.call(
        "POST", "/api/auth/refresh", json={"refreshToken": refreshed["refreshToken"]}
    )
    assert status == 401
    # Only that session: the user's other device stays signed in.
    assert await sessions.statuses(other_device["token"]) == [200, 200]


async def test_a_password_change_ends_every_session_and_starts_one(
    sessions: SessionStack,
) -> None:
    await sessions.register("jake")
    user = await sessions.login("jake")
    other_device = await sessions.login("jake")

    status, body = await sessions.call(
        "PUT", "/api/user", user["token"], json={"user": {"password": "a-new-password"}}
    )
    assert status == 200, body
    await ended_everywhere(sessions, user["token"], other_device["token"])
    # The front-end keeps the user it got back, and with it a token of a new session.
    changed = body["user"]
    assert claims(changed["token"])["sid"] != claims(user["token"])["sid"]
    assert await sessions.statuses(changed["token"]) == [200, 200]
    assert changed["refreshToken"]
    await sessions.login("jake", "a-new-password")


async def test_a_password_reset_ends_every_session(sessions: SessionStack) -> None:
    user = await sessions.register("jake")
    assert await sessions.statuses(user["token"]) == [200, 200]
    status, _ = await sessions.call(
        "POST", "/api/auth/password-reset", json={"email": "jake@example.com"}
    )
    assert status == 202
    mail = await wait_for_mail(sessions.infra.mail_api, "jake@example.com", "Reset")
    status, _ = await sessions.call(
        "POST",
        "/api/auth/password-reset/confirm",
        json={"token": token_in(mail), "password": "a-new-password"},
    )
    assert status == 200
    await ended_everywhere(sessions, user["token"])


async def test_deleting_the_account_ends_its_sessions(sessions: SessionStack) -> None:
    user = await sessions.register("jake")
    other_device = await sessions.login("jake")
    status, _ = await sessions.call("DELETE", "/api/user", user["token"], gateway=1)
    assert status == 204
    await ended_everywhere(sessions, user["token"], other_device["token"])


async def test_a_revoked_token_stays_revoked_after_redis_and_the_gateways_restart(
    sessions: SessionStack,
) -> None:
    await sessions.register("jake")
    revoked = await sessions.login("jake")
    kept = await sessions.login("jake")
    assert (await sessions.call("POST", "/api/auth/logout", revoked["token"]))[0] == 204
    await ended_everywhere(sessions, revoked["token"])

    # Redis forgets everything, the gateways restart: the list comes back from auth.
    redis = aioredis.from_url(sessions.redis_url)
    try:
        await redis.flushall()
    finally:
        await redis.aclose()
    await sessions.restart_gateways()
    assert await sessions.statuses(revoked["token"]) == [401, 401]
    assert await sessions.statuses(kept["token"]) == [200, 200]

    # Redis itself restarts empty under running gateways, then they restart again.
    sessions.stop_redis()
    sessions.start_redis()
    assert await sessions.statuses(revoked["token"]) == [401, 401]
    await sessions.restart_gateways()
    assert await sessions.statuses(revoked["token"]) == [401, 401]
    assert await sessions.statuses(kept["token"]) == [200, 200]

    # And a session ended after Redis came back reaches both replicas at once again.
    assert (await sessions.call("POST", "/api/auth/logout", kept["token"], gateway=1))[0] == 204
    await ended_everywhere(sessions, kept["token"])


async def test_rotating_the_signing_key_signs_nobody_out(sessions: SessionStack) -> None:
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    await sessions.stop_auth()
    await sessions.start_auth(JWT_SIGNING_KEY=private_pem(old_key))
    await sessions.register("jake")
    before = await sessions.login("jake")
    assert await sessions.statuses(before["token"]) == [200, 200]

    # The deployment's rotation: the new key signs, the old one stays published.
    await sessions.stop_auth()
    await sessions.start_auth(
        JWT_SIGNING_KEY=private_pem(new_key), JWT_EXTRA_PUBLIC_KEYS=public_pem(old_key)
    )
    after = await sessions.login("jake")
    assert claims(after["token"])["sid"] != claims(before["token"])["sid"]

    async def new_key_known() -> bool:
        return await sessions.statuses(after["token"]) == [200, 200]

    # A gateway reads the key set again on an unknown kid, at most every JWKS_MIN_REFETCH.
    await until(new_key_known, timeout=JWKS_MIN_REFETCH + 5)
    assert await sessions.statuses(before["token"]) == [200, 200]
    await sessions.restart_gateways()
    assert await sessions.statuses(before["token"]) == [200, 200]
    # Revocation still reaches tokens signed by the retired key.
    assert (await sessions.call("POST", "/api/auth/logout", before["token"]))[0] == 204
    await ended_everywhere(sessions, before["token"])
    assert await sessions.statuses(after["token"]) == [200, 200]


async def test_a_new_profile_image_is_the_default_avatar_served_through_the_gateway(
    sessions: SessionStack,
) -> None:
    user = await sessions.register("jake")
    assert user["image"] == f"{sessions.gateway_url(0)}/api/static/avatar.svg"
    async with sessions.http.get(user["image"]) as response:
        assert response.status == 200
        assert response.content_type == "image/svg+xml"
        body = await response.read()
    assert body.startswith(b"<?xml") and b"<svg" in body
    _, listed = await sessions.call("GET", "/api/users")
    assert listed["profiles"][0]["image"] == user["image"]
    # A chosen image replaces it; removing it brings the default back.
    _, body_ = await sessions.call(
        "PUT", "/api/user", user["token"], json={"user": {"image": "https://img.example/j.png"}}
    )
    assert body_["user"]["image"] == "https://img.example/j.png"
    _, body_ = await sessions.call(
        "PUT", "/api/user", user["token"], json={"user": {"image": None}}
    )
    assert body_["user"]["image"] == user["image"]
