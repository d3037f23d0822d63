"""Comments on messages."""

from __future__ import annotations

import asyncpg

from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Connect, Replicas, history
from tests.services import Users
from tests.waiting import until


async def test_a_comment_joins_the_thread_counts_and_reaches_the_members(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna", "eve")
    general = await general_id(a, users["jake"])
    soups = await group(a, users["jake"], members=["anna"])
    message = await send(a, users["jake"], soups["id"], "what goes in a minestrone?")
    jake = await sockets(b, users["jake"])
    path = f"/api/chats/{soups['id']}/messages/{message['id']}/comments"

    added = await a.post(path, json={"comment": {"body": "beans"}}, headers=users["anna"])
    event = await jake.until("comment.created")
    thread = await (await b.get(path, headers=users["jake"])).json()
    by_eve = await a.post(path, json={"comment": {"body": "hi"}}, headers=users["eve"])
    elsewhere = await a.get(
        f"/api/chats/{general}/messages/{message['id']}/comments", headers=users["jake"]
    )
    (shown,) = await history(a, users["jake"], soups["id"])

    comment = (await added.json())["comment"]
    assert added.status == 201
    assert comment["messageId"] == message["id"]
    assert comment["author"]["username"] == "anna"
    assert event["data"]["chatId"] == soups["id"]
    assert event["data"]["seq"] == message["seq"]
    assert event["data"]["comment"] == comment
    assert thread["comments"] == [comment]
    assert shown["commentsCount"] == 1
    assert (by_eve.status, elsewhere.status) == (404, 404)


async def test_comments_go_with_their_deleted_message(
    replicas: Replicas, users: Users, db: asyncpg.Connection
) -> None:
    (chat,) = await replicas(1)
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"], members=["anna"])
    message = await send(chat, users["jake"], soups["id"], "soup?")
    path = f"/api/chats/{soups['id']}/messages/{message['id']}/comments"
    await chat.post(path, json={"comment": {"body": "yes"}}, headers=users["anna"])

    deleted = await chat.delete(
        f"/api/chats/{soups['id']}/messages/{message['id']}", headers=users["jake"]
    )
    listed = await chat.get(path, headers=users["anna"])

    assert deleted.status == 204
    assert listed.status == 404
    (tombstone,) = await history(chat, users["jake"], soups["id"])
    assert tombstone["commentsCount"] == 0
    stored = await db.fetchval(
        "SELECT count(*) FROM chat.message_comments WHERE message_id = $1", message["id"]
    )
    assert stored == 0


async def test_comments_of_an_expired_message_are_404_and_removed(
    replicas: Replicas, users: Users, db: asyncpg.Connection
) -> None:
    (chat,) = await replicas(1, CHAT_GENERAL_TTL="1", CHAT_EXPIRY_INTERVAL="0.1")
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    message = await send(chat, users["jake"], general, "brief")
    path = f"/api/chats/{general}/messages/{message['id']}/comments"
    added = await chat.post(path, json={"comment": {"body": "quick"}}, headers=users["jake"])
    assert added.status == 201

    async def removed() -> bool:
        count = await db.fetchval(
            "SELECT count(*) FROM chat.message_comments WHERE message_id = $1", message["id"]
        )
        return bool(count == 0)

    await until(removed, timeout=5)
    listed = await chat.get(path, headers=users["jake"])
    assert listed.status == 404
