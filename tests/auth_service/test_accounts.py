"""Sign-up, login, the current user and its updates, as the RealWorld spec and API.md say."""

import asyncio
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from auth_service.app import create_app
from tests.factories import as_user, auth_settings, claims, register
from tests.infra import Infra
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
    ("user", "field"),
    [
        ({"email": "a@example.com", "password": "longenough"}, "username"),  # missing username
        ({"username": "ab", "email": "a@example.com", "password": "longenough"}, "username"),
        ({"username": "a" * 33, "email": "a@example.com", "password": "longenough"}, "username"),
        ({"username": "bad name", "email": "a@example.com", "password": "longenough"}, "username"),
        ({"username": "anna", "email": "not-an-email", "password": "longenough"}, "email"),
        ({"username": "anna", "email": "a@example.com", "password": "short"}, "password"),
        ({"username": "anna", "email": "a@example.com", "password": 12345678}, "password"),
        (
            {"username": "anna", "email": "a@example.com", "password": "x" * 8, "role": "admin"},
            "role",
        ),
    ],
)
async def test_invalid_registration_is_422_naming_the_field(
    auth: AppClient, user: dict[str, Any], field: str
) -> None:
    response = await auth.post("/api/users", json={"user": user})
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert field in errors and errors["body"]


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


async def test_sign_ins_past_the_hashing_queue_answer_503_at_once(
    infra: Infra, aiohttp_client: AiohttpClient
) -> None:
    # One hash at a time and none waiting: of many logins at once, those that find the
    # hashing busy are told to come back instead of queueing.
    settings = auth_settings(
        infra,
        ARGON2_WORKERS="1",
        ARGON2_QUEUE="0",
        ARGON2_TIME_COST="4",
        ARGON2_MEMORY_KIB="65536",
    )
    client = await aiohttp_client(create_app(settings))
    await register(client, "jake")
    credentials = {"user": {"email": "jake@example.com", "password": "jakejake1"}}

    async def login() -> tuple[int, str | None]:
        response = await client.post("/api/users/login", json=credentials)
        return response.status, response.headers.get("Retry-After")

    answers = await asyncio.gather(*(login() for _ in range(12)))
    statuses = sorted({status for status, _ in answers})
    assert statuses == [200, 503]
    assert all(retry == "1" for status, retry in answers if status == 503)
