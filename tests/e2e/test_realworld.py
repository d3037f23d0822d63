"""The RealWorld ("Conduit") API through the gateway, against every service as a process."""

import asyncio
from typing import Any

import aiohttp
from openapi_spec_validator import validate

from tests.stack import Stack


async def call(
    api: aiohttp.ClientSession, method: str, path: str, token: str | None = None, **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Token {token}"} if token else {}
    async with api.request(method, path, headers=headers, **kwargs) as response:
        body = (
            await response.json()
            if response.content_length != 0 and response.status != 204
            else None
        )
        return response.status, body


async def signup(api: aiohttp.ClientSession, name: str) -> str:
    status, body = await call(
        api,
        "POST",
        "/api/users",
        json={"user": {"username": name, "email": f"{name}@example.com", "password": "password1"}},
    )
    assert status == 201, body
    return str(body["user"]["token"])


async def test_the_gateway_and_every_service_are_ready(api: aiohttp.ClientSession) -> None:
    status, body = await call(api, "GET", "/health/ready")
    assert status == 200
    assert body["checks"] == {
        "redis": "ok",
        "auth": "ok",
        "posts": "ok",
        "social": "ok",
        "chat": "ok",
    }


async def test_a_conduit_session_from_sign_up_to_deletion(
    api: aiohttp.ClientSession, running_stack: Stack
) -> None:
    jake = await signup(api, "jake")
    anna = await signup(api, "anna")

    status, body = await call(
        api,
        "POST",
        "/api/users/login",
        json={"user": {"email": "jake@example.com", "password": "password1"}},
    )
    assert status == 200 and body["user"]["username"] == "jake"
    status, body = await call(api, "PUT", "/api/user", jake, json={"user": {"bio": "I like soup"}})
    assert (status, body["user"]["bio"]) == (200, "I like soup")

    status, body = await call(api, "POST", "/api/profiles/anna/follow", jake)
    assert (status, body["profile"]["following"]) == (200, True)

    status, body = await call(
        api,
        "POST",
        "/api/articles",
        anna,
        json={
            "article": {
                "title": "How to train your dragon",
                "description": "Ever wonder how?",
                "body": "You have to believe",
                "tagList": ["dragons", "training"],
            }
        },
    )
    assert status == 201
    slug = body["article"]["slug"]
    assert slug == "how-to-train-your-dragon"

    status, body = await call(api, "GET", "/api/articles/feed", jake)
    assert (status, body["articlesCount"]) == (200, 1)
    assert body["articles"][0]["author"] == {
        "username": "anna",
        "bio": None,
        # The stack's PUBLIC_URL is its gateway, where the default avatar is served.
        "image": f"{running_stack.url}/api/static/avatar.svg",
        "following": True,
        "followersCount": 1,
        "followingCount": 0,
    }

    status, body = await call(api, "POST", f"/api/articles/{slug}/favorite", jake)
    assert (body["article"]["favorited"], body["article"]["favoritesCount"]) == (True, 1)
    status, body = await call(api, "GET", "/api/articles", params={"favorited": "jake"})
    assert [a["slug"] for a in body["articles"]] == [slug]
    status, body = await call(api, "GET", "/api/articles", params={"tag": "dragons"})
    assert body["articlesCount"] == 1
    status, body = await call(api, "GET", "/api/tags")
    assert set(body["tags"]) == {"dragons", "training"}

    status, body = await call(
        api,
        "POST",
        f"/api/articles/{slug}/comments",
        jake,
        json={"comment": {"body": "Thank you so much!"}},
    )
    assert status == 200
    comment_id = body["comment"]["id"]
    status, body = await call(api, "GET", f"/api/articles/{slug}/comments")
    assert [c["body"] for c in body["comments"]] == ["Thank you so much!"]
    assert (await call(api, "DELETE", f"/api/articles/{slug}/comments/{comment_id}", anna))[
        0
    ] == 403
    assert (await call(api, "DELETE", f"/api/articles/{slug}/comments/{comment_id}", jake))[
        0
    ] == 204

    assert (await call(api, "PUT", f"/api/articles/{slug}", jake, json={"article": {"body": "x"}}))[
        0
    ] == 403
    assert (await call(api, "DELETE", f"/api/articles/{slug}", anna))[0] == 204
    assert (await call(api, "GET", f"/api/articles/{slug}"))[0] == 404


async def test_errors_through_the_gateway_keep_the_api_format(api: aiohttp.ClientSession) -> None:
    status, body = await call(api, "POST", "/api/users", json={"user": {"username": "x"}})
    assert status == 422 and body["errors"]["body"]
    status, body = await call(api, "GET", "/api/user")
    assert (status, body) == (401, {"errors": {"body": ["authentication is required"]}})
    status, body = await call(api, "GET", "/api/profiles/nobody")
    assert status == 404 and body["errors"]["body"]


async def test_account_deletion_reaches_every_service(api: aiohttp.ClientSession) -> None:
    jake = await signup(api, "jake")
    anna = await signup(api, "anna")
    await call(api, "POST", "/api/profiles/anna/follow", jake)
    status, body = await call(
        api,
        "POST",
        "/api/articles",
        jake,
        json={"article": {"title": "Stew", "description": "d", "body": "b"}},
    )
    slug = body["article"]["slug"]
    assert (await call(api, "DELETE", "/api/user", jake))[0] == 204
    # The old token is revoked at once; the rest follows through events.
    assert (await call(api, "GET", "/api/user", jake))[0] == 401
    for _ in range(100):
        status, _ = await call(api, "GET", f"/api/articles/{slug}")
        _, profile = await call(api, "GET", "/api/profiles/anna", anna)
        if status == 404 and profile["profile"]["followersCount"] == 0:
            break
        await asyncio.sleep(0.1)
    assert status == 404
    assert profile["profile"]["followersCount"] == 0


async def test_logout_revokes_the_token_at_the_gateway(api: aiohttp.ClientSession) -> None:
    token = await signup(api, "jake")
    assert (await call(api, "GET", "/api/user", token))[0] == 200
    assert (await call(api, "POST", "/api/auth/logout", token))[0] == 204
    assert (await call(api, "GET", "/api/user", token))[0] == 401


async def test_the_merged_openapi_document_is_valid_and_complete(
    api: aiohttp.ClientSession, running_stack: Stack
) -> None:
    status, document = await call(api, "GET", "/api/openapi.json")
    assert status == 200
    validate(document)
    for path in ("/api/users", "/api/articles", "/api/profiles/{username}", "/api/tags"):
        assert path in document["paths"]
    assert not any(p.startswith("/internal") for p in document["paths"])
