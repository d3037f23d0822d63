"""Input found by fuzzing that once answered 500: every such request now gets a 4xx in the
error format of API.md, naming the field at fault."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.e2e.test_realworld import call, signup

ARTICLE = {"title": "Soup", "description": "hot", "body": "Boil water."}


def assert_error(status: int, body: Any, expected: int, field: str | None = None) -> None:
    assert status == expected, body
    assert isinstance(body["errors"]["body"], list) and body["errors"]["body"], body
    if field is not None:
        assert field in body["errors"], body


async def new_article(api: aiohttp.ClientSession, token: str) -> str:
    status, body = await call(api, "POST", "/api/articles", token, json={"article": ARTICLE})
    assert status == 201, body
    return str(body["article"]["slug"])


async def test_a_nul_character_anywhere_is_a_422_naming_the_field(
    api: aiohttp.ClientSession,
) -> None:
    token = await signup(api, "nul")
    slug = await new_article(api, token)
    bodies = [
        ("POST", "/api/articles", {"article": {**ARTICLE, "title": "a\u0000b"}}, "title"),
        (
            "POST",
            "/api/articles",
            {"article": {**ARTICLE, "ingredients": [{"name": "sa\u0000lt"}]}},
            "ingredients.0.name",
        ),
        ("PUT", f"/api/articles/{slug}", {"article": {"body": "\u0000"}}, "body"),
        ("POST", f"/api/articles/{slug}/comments", {"comment": {"body": "x\u0000"}}, "body"),
        ("PUT", "/api/user", {"user": {"bio": "\u0000"}}, "bio"),
        ("POST", "/api/users/login", {"user": {"email": "a\u0000@b.c", "password": "p"}}, "email"),
        ("POST", "/api/chats", {"chat": {"name": "\u0000", "kind": "group"}}, None),
    ]
    for method, path, payload, field in bodies:
        status, body = await call(api, method, path, token, json=payload)
        assert_error(status, body, 422, field)
        assert body["errors"]["body"] != ["internal server error"]
    for path, field in [
        ("/api/articles?q=a%00b", "q"),
        ("/api/articles?tag=%00", "tag"),
        ("/api/profiles/%00", "username"),
        ("/api/media/%00", "id"),
    ]:
        status, body = await call(api, "GET", path, token)
        assert_error(status, body, 422, field)


async def test_json_nested_ten_thousand_deep_is_refused(api: aiohttp.ClientSession) -> None:
    token = await signup(api, "deep")
    deep = "[" * 10_000 + "]" * 10_000
    shallow_enough_for_orjson = "[" * 1000 + "]" * 1000
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    for path in ("/api/users", "/api/users/login", "/api/articles", "/api/chats"):
        for nested in (deep, shallow_enough_for_orjson):
            payload = '{"user": {"email": %s}}' % nested  # noqa: UP031 - JSON braces
            async with api.post(path, data=payload, headers=headers) as response:
                assert response.status in (400, 422), (path, await response.text())
                assert (await response.json())["errors"]["body"]


async def test_a_lone_surrogate_is_a_400(api: aiohttp.ClientSession) -> None:
    token = await signup(api, "surrogate")
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    escaped = b'{"article": {"title": "x\\ud800y", "description": "d", "body": "b"}}'
    raw = b'{"article": {"title": "x\xed\xa0\x80y", "description": "d", "body": "b"}}'
    for payload in (escaped, raw):
        async with api.post("/api/articles", data=payload, headers=headers) as response:
            assert response.status == 400, await response.text()
            assert "JSON" in (await response.json())["errors"]["body"][0]


async def test_numbers_beyond_64_bits_are_404_or_422(api: aiohttp.ClientSession) -> None:
    token = await signup(api, "bigint")
    slug = await new_article(api, token)
    huge = "99999999999999999999"
    for method, path in [
        ("DELETE", f"/api/articles/{slug}/comments/{huge}"),
        ("DELETE", f"/api/articles/{slug}/comments/-{huge}"),
        ("GET", f"/api/chats/{huge}"),
        ("GET", f"/api/chats/{huge}/messages/{huge}/comments"),
    ]:
        status, body = await call(api, method, path, token)
        assert_error(status, body, 404)
    for path in (
        f"/api/articles?limit={huge}",
        f"/api/articles?offset={huge}",
        f"/api/chats/1/messages?before={huge}",
    ):
        status, body = await call(api, "GET", path, token)
        assert status in (404, 422), body
    for number in (int(huge), -int(huge), 2**63, 1e300):
        status, body = await call(
            api,
            "POST",
            "/api/articles",
            token,
            json={"article": {**ARTICLE, "cookingMinutes": number}},
        )
        assert_error(status, body, 422, "cookingMinutes")


async def test_a_405_names_the_allowed_methods(api: aiohttp.ClientSession) -> None:
    # One refused by the gateway's routing table, one by a service's router.
    async with api.patch("/api/tags") as response:
        assert response.status == 405
        assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
        assert (await response.json())["errors"]["body"]
    token = await signup(api, "allow")
    async with api.put("/api/articles", headers={"Authorization": f"Token {token}"}) as response:
        assert response.status == 405
        assert "POST" in response.headers["Allow"]
        assert (await response.json())["errors"]["body"]


async def test_a_path_with_a_newline_gets_the_error_format(api: aiohttp.ClientSession) -> None:
    token = await signup(api, "newline")
    for path in ("/api/chats/a%0Ab/messages", "/api/articles/a%0Ab", "/a%0Ab"):
        async with api.get(path, headers={"Authorization": f"Token {token}"}) as response:
            assert response.status == 404, path
            assert response.content_type == "application/json", path
            assert (await response.json())["errors"]["body"]
