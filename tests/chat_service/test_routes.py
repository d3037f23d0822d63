"""Every route about a chat: a chat I am not in does not exist for me (404, never 403), every route needs the caller, and an id that is no number names nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chat_service.conftest import group, send
from tests.chat_service.helpers import status_of
from tests.services import Users
from tests.typing import AppClient

CHAT_NOT_FOUND = {"errors": {"body": ["chat not found"]}}


async def invite_code(client: AppClient, owner: dict[str, str], chat_id: int) -> str:
    response = await client.post(
        f"/api/chats/{chat_id}/invites", json={"invite": {}}, headers=owner
    )
    assert response.status == 201, await response.text()
    return (await response.json())["invite"]["code"]  # type: ignore[no-any-return]


# Every route about one chat, with a valid body, so that only who asks decides the answer.
# {chat}, {message} and {request} are a private group chat, a message in it and a pending
# join request to it.
CHAT_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/chats/{chat}", None),
    ("PATCH", "/api/chats/{chat}", {"chat": {"title": "Mine now"}}),
    ("DELETE", "/api/chats/{chat}", None),
    ("POST", "/api/chats/{chat}/members", {"username": "anna"}),
    ("DELETE", "/api/chats/{chat}/members/jake", None),
    ("POST", "/api/chats/{chat}/invites", {"invite": {}}),
    ("GET", "/api/chats/{chat}/join-requests", None),
    ("POST", "/api/chats/{chat}/join-requests/{request}/approve", None),
    ("POST", "/api/chats/{chat}/join-requests/{request}/reject", None),
    ("GET", "/api/chats/{chat}/messages", None),
    ("POST", "/api/chats/{chat}/messages", {"message": {"body": "let me in"}}),
    ("PATCH", "/api/chats/{chat}/messages/{message}", {"message": {"body": "mine"}}),
    ("DELETE", "/api/chats/{chat}/messages/{message}", None),
    ("POST", "/api/chats/{chat}/read", {"seq": 1}),
]


ROUTE_IDS = [f"{method} {path}" for method, path, _ in CHAT_ROUTES]


async def private_world(chat: AppClient, users: Users) -> dict[str, int]:
    """jake's private group with one message and bob's pending join request; anna is outside."""
    await users.add("jake", "anna", "bob")
    secret = await group(chat, users["jake"], "Secret", private=True)
    message = await send(chat, users["jake"], secret["id"], "the recipe")
    code = await invite_code(chat, users["jake"], secret["id"])
    response = await chat.post(f"/api/chats/join/{code}", headers=users["bob"])
    assert response.status == 202, await response.text()
    request = (await response.json())["joinRequest"]
    return {"chat": secret["id"], "message": message["id"], "request": request["id"]}


@pytest.mark.parametrize(("method", "path", "body"), CHAT_ROUTES, ids=ROUTE_IDS)
async def test_a_chat_i_am_not_in_answers_404_as_if_it_did_not_exist(
    chat: AppClient, users: Users, method: str, path: str, body: Any
) -> None:
    ids = await private_world(chat, users)
    response = await chat.request(method, path.format(**ids), json=body, headers=users["anna"])
    assert response.status == 404
    assert await response.json() == CHAT_NOT_FOUND
    missing = path.format(chat=ids["chat"] + 1000, message=ids["message"], request=ids["request"])
    response = await chat.request(method, missing, json=body, headers=users["jake"])
    assert response.status == 404
    assert await response.json() == CHAT_NOT_FOUND


async def test_what_a_stranger_tried_changed_nothing(chat: AppClient, users: Users) -> None:
    ids = await private_world(chat, users)
    for method, path, body in CHAT_ROUTES:
        await chat.request(method, path.format(**ids), json=body, headers=users["anna"])
    response = await chat.get(f"/api/chats/{ids['chat']}", headers=users["jake"])
    detail = (await response.json())["chat"]
    assert (detail["title"], detail["membersCount"]) == ("Secret", 1)
    response = await chat.get(f"/api/chats/{ids['chat']}/messages", headers=users["jake"])
    assert [m["body"] for m in (await response.json())["messages"]] == ["the recipe"]
    response = await chat.get(f"/api/chats/{ids['chat']}/join-requests", headers=users["jake"])
    assert [r["status"] for r in (await response.json())["joinRequests"]] == ["pending"]


@pytest.mark.parametrize(("method", "path", "body"), CHAT_ROUTES, ids=ROUTE_IDS)
async def test_every_chat_route_needs_the_caller(
    chat: AppClient, users: Users, method: str, path: str, body: Any
) -> None:
    ids = await private_world(chat, users)
    response = await chat.request(method, path.format(**ids), json=body)
    assert response.status == 401
    assert "body" in (await response.json())["errors"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/chats"),
        ("POST", "/api/chats"),
        ("GET", "/api/chats/unread"),
        ("POST", "/api/chats/join/somecode"),
    ],
)
async def test_the_routes_about_my_chats_need_the_caller(
    chat: AppClient, method: str, path: str
) -> None:
    body = {"chat": {"type": "group", "title": "Soups"}} if method == "POST" else None
    assert await status_of(chat, method, path, body=body) == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # A word where the chat id goes.
        ("GET", "/api/chats/soups", None),
        ("PATCH", "/api/chats/soups", {"chat": {"title": "x"}}),
        ("DELETE", "/api/chats/soups", None),
        ("GET", "/api/chats/soups/messages", None),
        ("POST", "/api/chats/soups/messages", {"message": {"body": "hi"}}),
        ("POST", "/api/chats/soups/read", {"seq": 1}),
        # Ids that no row can have: zero, negative, beyond bigint.
        ("GET", "/api/chats/0", None),
        ("GET", "/api/chats/-1", None),
        ("GET", f"/api/chats/{2**63}", None),
        # A word where the message id goes.
        ("PATCH", "/api/chats/{chat}/messages/first", {"message": {"body": "x"}}),
        ("DELETE", "/api/chats/{chat}/messages/first", None),
        # A word where the join request id goes.
        ("POST", "/api/chats/{chat}/join-requests/first/approve", None),
        ("POST", "/api/chats/{chat}/join-requests/first/reject", None),
    ],
)
async def test_a_non_numeric_id_names_nothing(
    chat: AppClient, users: Users, method: str, path: str, body: Any
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    response = await chat.request(
        method, path.format(chat=soups["id"]), json=body, headers=users["jake"]
    )
    assert response.status == 404
    assert "body" in (await response.json())["errors"]


# Digits that are not ASCII: Python's str.isdigit() takes them all, int() fails on the first
# two (a 500 where isdigit() was the check) and reads the others (superscript two, circled
# one, Arabic-Indic three, fullwidth three, NKo three).
NOT_ASCII_DIGITS = ["\u00b2", "\u2460", "\u0663", "\uff13", "\u07c3"]

# Every kind of numeric path segment, the others valid.
ID_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/chats/{id}", None),
    ("PATCH", "/api/chats/{id}", {"chat": {"title": "x"}}),
    ("DELETE", "/api/chats/{id}", None),
    ("POST", "/api/chats/{id}/members", {"username": "jake"}),
    ("DELETE", "/api/chats/{id}/members/jake", None),
    ("POST", "/api/chats/{id}/invites", {"invite": {}}),
    ("GET", "/api/chats/{id}/join-requests", None),
    ("GET", "/api/chats/{id}/messages", None),
    ("POST", "/api/chats/{id}/messages", {"message": {"body": "hi"}}),
    ("POST", "/api/chats/{id}/read", {"seq": 1}),
    ("GET", "/api/chats/{id}/messages/scheduled", None),
    ("PATCH", "/api/chats/{chat}/messages/{id}", {"message": {"body": "x"}}),
    ("DELETE", "/api/chats/{chat}/messages/{id}", None),
    ("DELETE", "/api/chats/{chat}/messages/scheduled/{id}", None),
    ("GET", "/api/chats/{chat}/messages/{id}/comments", None),
    ("POST", "/api/chats/{chat}/messages/{id}/comments", {"comment": {"body": "x"}}),
    ("POST", "/api/chats/{chat}/join-requests/{id}/approve", None),
    ("POST", "/api/chats/{chat}/join-requests/{id}/reject", None),
    ("GET", "/api/chat/attachments/{id}", None),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), ID_ROUTES, ids=[f"{m} {p}" for m, p, _ in ID_ROUTES]
)
async def test_an_id_of_digits_that_are_not_ascii_names_nothing(
    chat: AppClient, users: Users, method: str, path: str, body: Any
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    for digit in NOT_ASCII_DIGITS:
        url = path.format(chat=soups["id"], id=digit)
        response = await chat.request(method, url, json=body, headers=users["jake"])
        assert response.status == 404, (digit, await response.text())
        assert "body" in (await response.json())["errors"]


# Every numeric query parameter of chat.
QUERY_ROUTES: list[tuple[str, str]] = [
    ("/api/chats", "limit"),
    ("/api/chats", "offset"),
    ("/api/chats/unread", "limit"),
    ("/api/chats/{chat}/messages", "before"),
    ("/api/chats/{chat}/messages", "after"),
    ("/api/chats/{chat}/messages", "afterSeq"),
    ("/api/chats/{chat}/messages", "limit"),
    ("/api/chats/{chat}/messages/{message}/comments", "limit"),
    ("/api/chats/{chat}/messages/{message}/comments", "offset"),
]


NOT_QUERY_NUMBERS = [*NOT_ASCII_DIGITS, " 3", "3 ", "1_0", "+3", f"{2**63}", "1" * 40]


@pytest.mark.parametrize(("path", "name"), QUERY_ROUTES, ids=[f"{p} {n}" for p, n in QUERY_ROUTES])
async def test_a_query_number_is_ascii_digits_in_range(
    chat: AppClient, users: Users, path: str, name: str
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    message = await send(chat, users["jake"], soups["id"], "hello")
    url = path.format(chat=soups["id"], message=message["id"])
    for value in NOT_QUERY_NUMBERS:
        response = await chat.get(url, params={name: value}, headers=users["jake"])
        assert response.status == 422, (value, await response.text())
        assert name in (await response.json())["errors"]
    response = await chat.get(url, params={name: "1"}, headers=users["jake"])
    assert response.status == 200, await response.text()
