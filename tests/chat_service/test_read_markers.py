"""Read markers and unread messages: a marker never moves back, what counts as unread, and every device of mine is told."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.chat_service.conftest import Socket, send
from tests.chat_service.helpers import Replicas, group_of, send_many, seqs, unread_count
from tests.services import Users
from tests.typing import AppClient

OpenSocket = Callable[[AppClient, dict[str, str]], Awaitable[Socket]]


async def mark_read(
    client: AppClient, headers: dict[str, str], chat_id: int, seq: int
) -> dict[str, Any]:
    response = await client.post(f"/api/chats/{chat_id}/read", json={"seq": seq}, headers=headers)
    assert response.status == 200, await response.text()
    return (await response.json())["read"]  # type: ignore[no-any-return]


async def test_marking_read_answers_my_marker_and_what_is_left(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    await send_many(chat, users["anna"], soups, 1, 3)
    response = await chat.post(f"/api/chats/{soups}/read", json={"seq": 2}, headers=users["jake"])
    assert response.status == 200
    assert await response.json() == {"read": {"chatId": soups, "seq": 2, "unreadCount": 1}}
    assert await unread_count(chat, users["jake"], soups) == 1


async def test_a_read_marker_never_moves_back(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    await send_many(chat, users["anna"], soups, 1, 3)
    await mark_read(chat, users["jake"], soups, 2)
    assert await mark_read(chat, users["jake"], soups, 1) == {
        "chatId": soups,
        "seq": 2,
        "unreadCount": 1,
    }


async def test_a_read_marker_stops_at_the_last_message(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    await send_many(chat, users["anna"], soups, 1, 3)
    assert (await mark_read(chat, users["jake"], soups, 99))["seq"] == 3
    # The next message is unread: the marker did not run ahead of it.
    await send(chat, users["anna"], soups, "m4")
    assert await unread_count(chat, users["jake"], soups) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        # No seq.
        ({}, "seq"),
        # A seq that is not a number.
        ({"seq": "last"}, "seq"),
        # A negative seq.
        ({"seq": -1}, "seq"),
        # A seq beyond any the database can hold.
        ({"seq": 2**63}, "seq"),
        # A field the API does not know.
        ({"seq": 1, "chatId": 1}, "chatId"),
    ],
)
async def test_a_bad_read_marker_is_422(
    chat: AppClient, users: Users, payload: dict[str, Any], field: str
) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    response = await chat.post(f"/api/chats/{soups}/read", json=payload, headers=users["jake"])
    assert response.status == 422
    assert field in (await response.json())["errors"]


async def test_others_messages_after_my_marker_are_unread(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    await send_many(chat, users["anna"], soups, 1, 4)
    assert await unread_count(chat, users["jake"], soups) == 4
    await mark_read(chat, users["jake"], soups, 1)
    assert await unread_count(chat, users["jake"], soups) == 3


async def test_my_own_messages_are_never_unread_to_me(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    await send_many(chat, users["jake"], soups, 1, 3)
    assert await unread_count(chat, users["jake"], soups) == 0
    assert await unread_count(chat, users["anna"], soups) == 3


async def test_sending_a_message_marks_the_chat_read_up_to_it(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    await send_many(chat, users["anna"], soups, 1, 2)
    # Answering shows I read what I answer.
    await send(chat, users["jake"], soups, "yes")
    assert await unread_count(chat, users["jake"], soups) == 0
    await send(chat, users["anna"], soups, "good")
    assert await unread_count(chat, users["jake"], soups) == 1


async def test_deleted_messages_are_not_unread(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    first, _ = await send_many(chat, users["anna"], soups, 1, 2)
    await chat.delete(f"/api/chats/{soups}/messages/{first['id']}", headers=users["anna"])
    assert await unread_count(chat, users["jake"], soups) == 1


async def test_a_new_member_has_no_unread_history(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake")
    await send_many(chat, users["jake"], soups, 1, 3)
    await chat.post(f"/api/chats/{soups}/members", json={"username": "anna"}, headers=users["jake"])
    assert await unread_count(chat, users["anna"], soups) == 0


async def test_unread_lists_per_chat_the_messages_after_my_marker(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    stews = await group_of(chat, users, "jake", "anna")
    await send_many(chat, users["anna"], soups, 1, 3)
    await send(chat, users["anna"], stews, "stew")
    await mark_read(chat, users["jake"], soups, 1)
    await mark_read(chat, users["jake"], stews, 1)
    response = await chat.get("/api/chats/unread", headers=users["jake"])
    assert response.status == 200
    (unread,) = (await response.json())["chats"]
    assert {k: v for k, v in unread.items() if k != "messages"} == {
        "chatId": soups,
        "title": "Soups",
        "type": "group",
        "lastSeq": 3,
        "readSeq": 1,
        "unreadCount": 2,
    }
    assert [(m["seq"], m["body"]) for m in unread["messages"]] == [(2, "m2"), (3, "m3")]


async def test_unread_messages_per_chat_are_capped_by_limit(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    await send_many(chat, users["anna"], soups, 1, 5)
    response = await chat.get("/api/chats/unread?limit=2", headers=users["jake"])
    (unread,) = (await response.json())["chats"]
    assert (unread["unreadCount"], seqs(unread["messages"])) == (5, [1, 2])


async def test_a_read_marker_reaches_every_device_of_mine_on_every_replica(
    replicas: Replicas, users: Users, sockets: OpenSocket
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna")
    soups = await group_of(a, users, "jake", "anna")
    await send_many(a, users["anna"], soups, 1, 3)
    phone = await sockets(a, users["jake"])
    laptop = await sockets(b, users["jake"])
    marker = await mark_read(a, users["jake"], soups, 2)
    assert marker == {"chatId": soups, "seq": 2, "unreadCount": 1}
    for device in (phone, laptop):
        event = await device.until("chat.read")
        assert event["data"] == marker


async def test_a_read_marker_is_not_told_to_other_members(
    chat: AppClient, users: Users, sockets: OpenSocket
) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    await send(chat, users["anna"], soups, "hi")
    anna = await sockets(chat, users["anna"])
    await mark_read(chat, users["jake"], soups, 1)
    assert [e for e in await anna.quiet(0.3) if e["type"] == "chat.read"] == []
