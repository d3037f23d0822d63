"""auth_service/domain.py: accounts, sign-in, the current user, e-mail confirmation and password
reset."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from pytest_aiohttp import AiohttpClient

from auth_service.app import create_app
from tests import redis_text
from tests.factories import as_user, auth_settings, claims, register
from tests.infra import Infra
from tests.mail import token_in, wait_for_mail
from tests.typing import AppClient


async def test_registration_answers_the_user_with_tokens(auth: AppClient) -> None:
    user = await register(auth, "jake", "Jake@Example.com")
    assert user["username"] == "jake"
    assert user["email"] == "Jake@Example.com"
    assert user["bio"] is None
    assert user["image"] == "http://127.0.0.1:8080/api/static/avatar.svg"  # PUBLIC_URL based
    assert user["emailConfirmed"] is False
    assert user["refreshToken"]
    token_claims = claims(user["token"])
    assert token_claims["username"] == "jake"
    assert {"sub", "iat", "exp", "jti", "sid", "iss", "aud"} <= set(token_claims)


@pytest.mark.parametrize(
    ("second", "field"),
    [
        ({"username": "JAKE", "email": "other@example.com"}, "username"),  # case-insensitive
        ({"username": "other", "email": "JAKE@example.com"}, "email"),
    ],
)
async def test_taken_username_or_email_is_422(
    auth: AppClient, second: dict[str, str], field: str
) -> None:
    await register(auth, "jake", "jake@example.com")
    response = await auth.post("/api/users", json={"user": {**second, "password": "password1"}})
    assert response.status == 422
    body = await response.json()
    assert body["errors"][field] == ["has already been taken"]
    assert f"{field} has already been taken" in body["errors"]["body"]


async def test_concurrent_registrations_of_one_email_create_one_account(
    auth: AppClient,
) -> None:
    responses = await asyncio.gather(
        *(
            auth.post(
                "/api/users",
                json={
                    "user": {
                        "username": f"racer{i}",
                        "email": "race@example.com",
                        "password": "password1",
                    }
                },
            )
            for i in range(8)
        )
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [422] * 7
    listing = await (await auth.get("/api/users")).json()
    assert listing["profilesCount"] == 1


async def test_login_with_the_right_password(auth: AppClient) -> None:
    await register(auth, "jake", "jake@example.com", "jakejake1")
    response = await auth.post(
        "/api/users/login", json={"user": {"email": "JAKE@example.com", "password": "jakejake1"}}
    )
    assert response.status == 200
    user = (await response.json())["user"]
    assert user["username"] == "jake" and user["token"] and user["refreshToken"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "jake@example.com", "password": "wrong-password"},  # wrong password
        {"email": "nobody@example.com", "password": "jakejake1"},  # unknown address
    ],
)
async def test_login_failure_is_422_without_telling_which_part(
    auth: AppClient, credentials: dict[str, str]
) -> None:
    await register(auth, "jake", "jake@example.com", "jakejake1")
    response = await auth.post("/api/users/login", json={"user": credentials})
    assert response.status == 422
    assert (await response.json())["errors"]["body"] == ["email or password is invalid"]


async def test_current_user_needs_the_gateway_identity(auth: AppClient) -> None:
    assert (await auth.get("/api/user")).status == 401


async def test_current_user_answers_the_caller(auth: AppClient) -> None:
    user = await register(auth)
    response = await auth.get("/api/user", headers=as_user(user))
    assert response.status == 200
    body = (await response.json())["user"]
    assert body["username"] == "jake" and body["token"] == user["token"]


async def test_update_changes_only_the_given_fields(auth: AppClient) -> None:
    user = await register(auth)
    response = await auth.put(
        "/api/user",
        json={"user": {"bio": "I cook", "image": "https://img.example.com/j.png"}},
        headers=as_user(user),
    )
    assert response.status == 200
    updated = (await response.json())["user"]
    assert (updated["bio"], updated["image"], updated["username"]) == (
        "I cook",
        "https://img.example.com/j.png",
        "jake",
    )


async def test_update_to_a_taken_username_is_422(auth: AppClient) -> None:
    await register(auth, "anna")
    user = await register(auth, "jake")
    response = await auth.put(
        "/api/user", json={"user": {"username": "Anna"}}, headers=as_user(user)
    )
    assert response.status == 422
    assert (await response.json())["errors"]["username"] == ["has already been taken"]


async def test_password_change_lets_the_new_password_in_and_ends_sessions(
    auth: AppClient,
) -> None:
    user = await register(auth, "jake", password="old-password")
    response = await auth.put(
        "/api/user", json={"user": {"password": "new-password"}}, headers=as_user(user)
    )
    assert response.status == 200
    old = await auth.post(
        "/api/users/login", json={"user": {"email": "jake@example.com", "password": "old-password"}}
    )
    new = await auth.post(
        "/api/users/login", json={"user": {"email": "jake@example.com", "password": "new-password"}}
    )
    assert (old.status, new.status) == (422, 200)
    refreshed = await auth.post("/api/auth/refresh", json={"refreshToken": user["refreshToken"]})
    assert refreshed.status == 401


async def test_user_list_is_paginated_newest_first(auth: AppClient) -> None:
    for name in ("anna", "ben", "cleo"):
        await register(auth, name)
    body = await (await auth.get("/api/users", params={"limit": "2", "offset": "0"})).json()
    assert body["profilesCount"] == 3
    assert [p["username"] for p in body["profiles"]] == ["cleo", "ben"]
    assert (await auth.get("/api/users", params={"limit": "500"})).status == 422


async def test_internal_routes_answer_profiles_in_batches(auth: AppClient) -> None:
    ids = [int(claims((await register(auth, name))["token"])["sub"]) for name in ("anna", "ben")]
    body = await (
        await auth.get("/internal/users", params={"ids": f"{ids[0]},{ids[1]},999"})
    ).json()
    assert sorted(u["username"] for u in body["users"]) == ["anna", "ben"]
    one = await auth.get("/internal/users/by-username/ANNA")
    assert (await one.json())["user"]["id"] == ids[0]
    assert (await auth.get("/internal/users/by-username/nobody")).status == 404


async def test_deleting_the_account_removes_it(auth: AppClient) -> None:
    user = await register(auth)
    assert (await auth.delete("/api/user", headers=as_user(user))).status == 204
    login = await auth.post(
        "/api/users/login", json={"user": {"email": "jake@example.com", "password": "jakejake1"}}
    )
    assert login.status == 422


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
