"""Integers and booleans in chat bodies are never coerced: a string, a fraction or a boolean
where an integer is expected (a string or a number where a boolean is) is 422 naming the
field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Connect
from tests.services import Users
from tests.typing import AppClient

WRONG_INTEGERS = ["3", 1.5, True, "1e3"]


@pytest.mark.parametrize("seq", WRONG_INTEGERS)
async def test_a_read_marker_that_is_not_an_integer_is_422(
    chat: AppClient, users: Users, seq: Any
) -> None:
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    await send(chat, users["jake"], general, "one")
    response = await chat.post(
        f"/api/chats/{general}/read", json={"seq": seq}, headers=users["jake"]
    )
    assert response.status == 422
    assert "seq" in (await response.json())["errors"]


@pytest.mark.parametrize("seconds", ["60", 60.5, False])
async def test_an_invite_lifetime_that_is_not_an_integer_is_422(
    chat: AppClient, users: Users, seconds: Any
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    response = await chat.post(
        f"/api/chats/{soups['id']}/invites",
        json={"invite": {"expiresInSeconds": seconds}},
        headers=users["jake"],
    )
    assert response.status == 422
    assert "expiresInSeconds" in (await response.json())["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("messageTtlSeconds", "60"),  # a string
        ("messageTtlSeconds", 60.5),  # a fraction
        ("private", "true"),  # a string for a boolean
        ("private", 1),  # a number for a boolean
    ],
)
async def test_chat_changes_of_the_wrong_type_are_422(
    chat: AppClient, users: Users, field: str, value: Any
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    response = await chat.patch(
        f"/api/chats/{soups['id']}", json={"chat": {field: value}}, headers=users["jake"]
    )
    assert response.status == 422
    assert field in (await response.json())["errors"]


async def test_a_reply_to_that_is_not_an_integer_is_422(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    first = await send(chat, users["jake"], general, "one")
    response = await chat.post(
        f"/api/chats/{general}/messages",
        json={"message": {"body": "re", "replyTo": str(first["id"])}},
        headers=users["jake"],
    )
    assert response.status == 422
    assert "replyTo" in (await response.json())["errors"]


async def test_a_socket_event_with_a_string_chat_id_is_refused(
    chat: AppClient, users: Users, sockets: Connect
) -> None:
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    socket = await sockets(chat, users["jake"])
    await socket.send({"type": "resume", "chatId": str(general), "afterSeq": 0})
    answer = await socket.until("error")
    assert "chatId" in answer["data"]["fields"]


async def test_whole_numbers_are_still_accepted(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    await send(chat, users["jake"], general, "one")
    response = await chat.post(f"/api/chats/{general}/read", json={"seq": 1}, headers=users["jake"])
    assert response.status == 200
