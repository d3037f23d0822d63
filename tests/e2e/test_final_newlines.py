"""A final newline is no part of a name, an address or a filter, through the gateway.

Python's `$` also matches before a final newline, so `^[A-Za-z0-9_-]+$` let "bob\\n" through:
an account could be registered or renamed as "anna\\n", and a name with a newline reached an
internal URL (400 "the request is not valid HTTP/1.1" from the call between services)."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.e2e.test_realworld import call, signup


async def test_a_name_or_address_with_a_final_newline_cannot_be_registered(
    api: aiohttp.ClientSession,
) -> None:
    cases = [
        ({"username": "anna\n", "email": "anna@example.com"}, "username"),
        ({"username": "anna", "email": "anna@example.com\n"}, "email"),
    ]
    for user, field in cases:
        status, body = await call(
            api, "POST", "/api/users", json={"user": {**user, "password": "password1"}}
        )
        assert status == 422, (user, body)
        assert body["errors"][field] and body["errors"]["body"]
    anna = await signup(api, "anna")
    status, body = await call(api, "PUT", "/api/user", anna, json={"user": {"username": "ann\n"}})
    assert (status, "username" in body["errors"]) == (422, True)


async def test_a_name_with_a_final_newline_names_nobody(api: aiohttp.ClientSession) -> None:
    anna = await signup(api, "anna")
    await signup(api, "bob")
    group = {"chat": {"type": "group", "title": "Cooks"}}
    status, chat = await call(api, "POST", "/api/chats", anna, json=group)
    assert status == 201, chat
    cases: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/chats", {"chat": {"type": "direct", "username": "bob\n"}}),
        ("POST", f"/api/chats/{chat['chat']['id']}/members", {"username": "bob\n"}),
        ("POST", "/api/users/bob%0A/report", {"reason": "spam"}),
        ("GET", "/api/profiles/bob%0A", None),
    ]
    for method, path, body in cases:
        status, answer = await call(api, method, path, anna, json=body)
        assert status == 404, (path, answer)
        assert "not found" in answer["errors"]["body"][0], (path, answer)


async def test_a_type_filter_with_a_final_newline_is_422(api: aiohttp.ClientSession) -> None:
    anna = await signup(api, "anna")
    status, body = await call(api, "GET", "/api/notifications?types=mentioned%0A", anna)
    assert status == 422, body
    assert body["errors"]["types"]
