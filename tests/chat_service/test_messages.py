"""Messages: seq per chat, replies, edits and tombstones, history by cursor, read markers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from chat_service.schemas import MAX_MESSAGE_LENGTH
from tests.auth_service.conftest import DEFAULT_IMAGE
from tests.chat_service.conftest import Socket, general_id, group, send
from tests.services import Users
from tests.typing import AppClient

OpenSocket = Callable[[AppClient, dict[str, str]], Awaitable[Socket]]
Replicas = Callable[..., Awaitable[list[AppClient]]]


async def group_of(client: AppClient, users: Users, owner: str, *members: str) -> int:
    """A group chat of the owner's with these members; its id."""
    chat = await group(client, users[owner])
    for name in members:
        response = await client.post(
            f"/api/chats/{chat['id']}/members", json={"username": name}, headers=users[owner]
        )
        assert response.status == 201, await response.text()
    return chat["id"]  # type: ignore[no-any-return]


async def history(
    client: AppClient, headers: dict[str, str], chat_id: int, **query: int
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/chats/{chat_id}/messages",
        params={k: str(v) for k, v in query.items()},
        headers=headers,
    )
    assert response.status == 200, await response.text()
    return (await response.json())["messages"]  # type: ignore[no-any-return]


async def send_many(
    client: AppClient, headers: dict[str, str], chat_id: int, first: int, count: int
) -> list[dict[str, Any]]:
    return [await send(client, headers, chat_id, f"m{n}") for n in range(first, first + count)]


async def mark_read(
    client: AppClient, headers: dict[str, str], chat_id: int, seq: int
) -> dict[str, Any]:
    response = await client.post(f"/api/chats/{chat_id}/read", json={"seq": seq}, headers=headers)
    assert response.status == 200, await response.text()
    return (await response.json())["read"]  # type: ignore[no-any-return]


async def unread_count(client: AppClient, headers: dict[str, str], chat_id: int) -> int:
    response = await client.get("/api/chats", headers=headers)
    chats = (await response.json())["chats"]
    return next(c["unreadCount"] for c in chats if c["id"] == chat_id)  # type: ignore[no-any-return]


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [m["seq"] for m in messages]


# Sending.


async def test_a_sent_message_is_answered_in_full(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    response = await chat.post(
        f"/api/chats/{soups}/messages", json={"message": {"body": "hello"}}, headers=users["jake"]
    )
    assert response.status == 201
    message = (await response.json())["message"]
    assert message.pop("createdAt").endswith("Z")
    assert isinstance(message.pop("id"), int)
    assert message == {
        "chatId": soups,
        "seq": 1,
        "author": {"username": "jake", "image": DEFAULT_IMAGE},
        "body": "hello",
        "attachment": None,
        "replyTo": None,
        "editedAt": None,
        "deleted": False,
        "expiresAt": None,
        "commentsCount": 0,
    }


async def test_each_chat_numbers_its_own_messages_from_1(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    stews = await group_of(chat, users, "jake")
    numbered = [(await send(chat, users["jake"], c, "x"))["seq"] for c in (soups, stews) * 3]
    assert numbered == [1, 1, 2, 2, 3, 3]


async def test_concurrent_senders_on_two_replicas_get_each_seq_exactly_once(
    replicas: Replicas, users: Users
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna")
    soups = await group_of(a, users, "jake", "anna")
    sent = await asyncio.gather(
        *(send(a, users["jake"], soups, f"jake {n}") for n in range(25)),
        *(send(b, users["anna"], soups, f"anna {n}") for n in range(25)),
    )
    assert sorted(m["seq"] for m in sent) == list(range(1, 51))
    stored = await history(b, users["jake"], soups, limit=100)
    assert seqs(stored) == list(range(1, 51))
    assert sorted(m["id"] for m in stored) == sorted(m["id"] for m in sent)


async def test_a_reply_names_the_message_it_answers(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    question = await send(chat, users["jake"], soups, "salt?")
    answer = await send(chat, users["anna"], soups, "a pinch", replyTo=question["id"])
    assert answer["replyTo"] == question["id"]


@pytest.mark.parametrize(
    "where",
    [
        # A message of another chat.
        "elsewhere",
        # A message that does not exist.
        "nowhere",
    ],
)
async def test_a_reply_to_a_message_not_of_this_chat_is_422(
    chat: AppClient, users: Users, where: str
) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    stews = await group_of(chat, users, "jake")
    other = await send(chat, users["jake"], stews, "elsewhere")
    target = other["id"] if where == "elsewhere" else other["id"] + 1000
    response = await chat.post(
        f"/api/chats/{soups}/messages",
        json={"message": {"body": "re", "replyTo": target}},
        headers=users["jake"],
    )
    assert response.status == 422
    assert (await response.json())["errors"]["replyTo"] == ["is not a message of this chat"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        # No body.
        ({"message": {}}, "body"),
        # An empty body.
        ({"message": {"body": ""}}, "body"),
        # A body of spaces.
        ({"message": {"body": " \n "}}, "body"),
        # A body over the limit.
        ({"message": {"body": "x" * (MAX_MESSAGE_LENGTH + 1)}}, "body"),
        # A body that is not a string.
        ({"message": {"body": 42}}, "body"),
        # A reply to something that is not a message id.
        ({"message": {"body": "hi", "replyTo": "the last one"}}, "replyTo"),
        # A reply to an id beyond any the database can hold.
        ({"message": {"body": "hi", "replyTo": 2**63}}, "replyTo"),
        # A field the API does not know.
        ({"message": {"body": "hi", "colour": "red"}}, "colour"),
        # No envelope.
        ({"body": "hi"}, "message"),
    ],
)
async def test_sending_a_bad_message_is_422_naming_the_field(
    chat: AppClient, users: Users, payload: dict[str, Any], field: str
) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    response = await chat.post(f"/api/chats/{soups}/messages", json=payload, headers=users["jake"])
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert field in errors, errors
    assert await history(chat, users["jake"], soups) == []


async def test_a_message_of_the_longest_length_is_sent(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    message = await send(chat, users["jake"], soups, "x" * MAX_MESSAGE_LENGTH)
    assert len(message["body"]) == MAX_MESSAGE_LENGTH


# Editing and deleting.


async def test_the_author_edits_a_message(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    sent = await send(chat, users["anna"], soups, "more slat")
    response = await chat.patch(
        f"/api/chats/{soups}/messages/{sent['id']}",
        json={"message": {"body": "more salt"}},
        headers=users["anna"],
    )
    assert response.status == 200
    edited = (await response.json())["message"]
    assert edited["editedAt"] is not None
    assert {**edited, "editedAt": None, "body": "more slat"} == sent
    (stored,) = await history(chat, users["jake"], soups)
    assert stored == edited


async def test_another_member_cannot_edit_a_message(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    sent = await send(chat, users["anna"], soups, "mine")
    # Not even the owner of the chat.
    response = await chat.patch(
        f"/api/chats/{soups}/messages/{sent['id']}",
        json={"message": {"body": "mine now"}},
        headers=users["jake"],
    )
    assert response.status == 403
    (stored,) = await history(chat, users["jake"], soups)
    assert stored["body"] == "mine"


@pytest.mark.parametrize(
    "deleter",
    [
        # The author.
        "anna",
        # The chat's owner, of anyone's message.
        "jake",
    ],
)
async def test_a_message_is_deleted_by_its_author_or_the_chats_owner(
    chat: AppClient, users: Users, deleter: str
) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    sent = await send(chat, users["anna"], soups, "oops")
    response = await chat.delete(
        f"/api/chats/{soups}/messages/{sent['id']}", headers=users[deleter]
    )
    assert response.status == 204
    (stored,) = await history(chat, users["jake"], soups)
    assert stored["deleted"]


async def test_another_member_cannot_delete_a_message(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna", "bob")
    soups = await group_of(chat, users, "jake", "anna", "bob")
    sent = await send(chat, users["anna"], soups, "keep")
    response = await chat.delete(f"/api/chats/{soups}/messages/{sent['id']}", headers=users["bob"])
    assert response.status == 403
    (stored,) = await history(chat, users["jake"], soups)
    assert (stored["deleted"], stored["body"]) == (False, "keep")


async def test_history_keeps_a_tombstone_of_a_deleted_message(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    await send(chat, users["jake"], soups, "before")
    sent = await send(chat, users["jake"], soups, "secret")
    await send(chat, users["jake"], soups, "after")
    await chat.delete(f"/api/chats/{soups}/messages/{sent['id']}", headers=users["jake"])
    before, tombstone, after = await history(chat, users["jake"], soups)
    assert (tombstone["id"], tombstone["seq"]) == (sent["id"], sent["seq"])
    assert (tombstone["deleted"], tombstone["body"]) == (True, None)
    assert (before["body"], after["body"]) == ("before", "after")


async def test_deleting_a_deleted_message_changes_nothing(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    sent = await send(chat, users["jake"], soups, "gone")
    path = f"/api/chats/{soups}/messages/{sent['id']}"
    assert (await chat.delete(path, headers=users["jake"])).status == 204
    assert (await chat.delete(path, headers=users["jake"])).status == 204
    (stored,) = await history(chat, users["jake"], soups)
    assert stored["deleted"]


async def test_editing_a_deleted_message_is_404(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    sent = await send(chat, users["jake"], soups, "gone")
    await chat.delete(f"/api/chats/{soups}/messages/{sent['id']}", headers=users["jake"])
    response = await chat.patch(
        f"/api/chats/{soups}/messages/{sent['id']}",
        json={"message": {"body": "back"}},
        headers=users["jake"],
    )
    assert response.status == 404


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_a_message_of_another_chat_is_404(chat: AppClient, users: Users, method: str) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    stews = await group_of(chat, users, "jake")
    elsewhere = await send(chat, users["jake"], stews, "stew")
    response = await chat.request(
        method,
        f"/api/chats/{soups}/messages/{elsewhere['id']}",
        json={"message": {"body": "soup"}} if method == "PATCH" else None,
        headers=users["jake"],
    )
    assert response.status == 404
    (stored,) = await history(chat, users["jake"], stews)
    assert (stored["body"], stored["deleted"]) == ("stew", False)


# Lifetimes.


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_messages_in_the_general_chat_expire_an_hour_after_they_are_sent(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake")
    message = await send(chat, users["jake"], await general_id(chat, users["jake"]), "hi all")
    assert moment(message["expiresAt"]) - moment(message["createdAt"]) == timedelta(hours=1)


async def test_a_group_chats_messages_live_as_long_as_its_owner_sets(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    await chat.patch(
        f"/api/chats/{soups}", json={"chat": {"messageTtlSeconds": 600}}, headers=users["jake"]
    )
    message = await send(chat, users["jake"], soups, "soon gone")
    assert moment(message["expiresAt"]) - moment(message["createdAt"]) == timedelta(minutes=10)


async def test_an_expired_message_leaves_history_and_unread_counts(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    old, _ = await send_many(chat, users["anna"], soups, 1, 2)
    await db.execute(
        "UPDATE chat.messages SET expires_at = now() - interval '1 second' WHERE id = $1",
        old["id"],
    )
    assert [m["body"] for m in await history(chat, users["jake"], soups)] == ["m2"]
    assert await unread_count(chat, users["jake"], soups) == 1


# History.


async def test_history_is_the_last_20_oldest_first(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    await send_many(chat, users["jake"], soups, 1, 30)
    page = await history(chat, users["jake"], soups)
    assert seqs(page) == list(range(11, 31))
    assert [m["body"] for m in page[:2]] == ["m11", "m12"]


async def test_paging_back_while_messages_arrive_joins_without_gap_or_duplicate(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    await send_many(chat, users["jake"], soups, 1, 30)
    page = await history(chat, users["anna"], soups)
    seen = page
    arrived = 30
    while page:
        # Someone writes between two pages: the page back is not shifted by it.
        arrived += 1
        await send(chat, users["jake"], soups, f"m{arrived}")
        page = await history(chat, users["anna"], soups, before=seen[0]["id"], limit=7)
        seen = page + seen
    assert seqs(seen) == list(range(1, 31))
    assert [m["body"] for m in seen] == [f"m{n}" for n in range(1, 31)]
    newer = await history(chat, users["anna"], soups, afterSeq=30)
    assert seqs(newer) == list(range(31, arrived + 1))


async def test_after_a_message_come_the_ones_sent_after_it(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    sent = await send_many(chat, users["jake"], soups, 1, 10)
    assert seqs(await history(chat, users["jake"], soups, after=sent[3]["id"])) == list(
        range(5, 11)
    )
    assert seqs(await history(chat, users["jake"], soups, after=sent[3]["id"], limit=2)) == [5, 6]
    assert await history(chat, users["jake"], soups, after=sent[-1]["id"]) == []


async def test_after_a_seq_come_the_ones_numbered_after_it(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    await send_many(chat, users["jake"], soups, 1, 5)
    assert seqs(await history(chat, users["jake"], soups, afterSeq=0)) == [1, 2, 3, 4, 5]
    assert seqs(await history(chat, users["jake"], soups, afterSeq=3)) == [4, 5]
    assert await history(chat, users["jake"], soups, afterSeq=5) == []


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        # Two cursors at once.
        ({"before": "1", "after": "1"}, {"before", "after"}),
        ({"after": "1", "afterSeq": "0"}, {"after", "afterSeq"}),
        # A cursor that is not a number.
        ({"before": "yesterday"}, {"before"}),
        # A negative seq.
        ({"afterSeq": "-1"}, {"afterSeq"}),
        # Cursors beyond any id or seq the database can hold.
        ({"before": str(2**63)}, {"before"}),
        ({"after": str(2**63)}, {"after"}),
        ({"afterSeq": str(2**63)}, {"afterSeq"}),
        # A page of nothing.
        ({"limit": "0"}, {"limit"}),
        # A page over the largest.
        ({"limit": "101"}, {"limit"}),
        # A parameter the API does not know.
        ({"since": "1"}, {"since"}),
    ],
)
async def test_a_bad_history_query_is_422_naming_the_fields(
    chat: AppClient, users: Users, query: dict[str, str], fields: set[str]
) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    await send(chat, users["jake"], soups, "hi")
    response = await chat.get(f"/api/chats/{soups}/messages", params=query, headers=users["jake"])
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert fields <= set(errors), errors


@pytest.mark.parametrize("cursor", ["before", "after"])
async def test_a_cursor_that_is_not_a_message_of_this_chat_is_404(
    chat: AppClient, users: Users, cursor: str
) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    stews = await group_of(chat, users, "jake")
    await send(chat, users["jake"], soups, "soup")
    elsewhere = await send(chat, users["jake"], stews, "stew")
    response = await chat.get(
        f"/api/chats/{soups}/messages",
        params={cursor: str(elsewhere["id"])},
        headers=users["jake"],
    )
    assert response.status == 404


# Read markers and unread counts.


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
