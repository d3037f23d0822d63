"""Messages on real replicas: sending with the chat's next seq, replies, edits, tombstones and lifetimes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from chat_service.schemas.common import MAX_MESSAGE_LENGTH
from tests.chat_service.conftest import general_id, send
from tests.chat_service.helpers import Replicas, group_of, history, send_many, seqs, unread_count
from tests.factories import DEFAULT_IMAGE
from tests.services import Users
from tests.typing import AppClient


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
