"""A chat message's mentions go with the message: deleted, expired, or gone before they were
handled (as a deleted recipe's and comment's notifications go with them)."""

from __future__ import annotations

import asyncpg

from chat_service.notifications import record_mention
from shared.keys import PG_POOL
from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Replicas
from tests.services import Users
from tests.waiting import until


async def mentions_of(db: asyncpg.Connection, users: Users, name: str) -> list[int]:
    """The messages of `name`'s mention notifications, oldest first."""
    rows = await db.fetch(
        """SELECT message_id FROM chat.notifications WHERE recipient_id = $1 AND type = 'mentioned'
           ORDER BY id""",
        users.ids[name],
    )
    return [row["message_id"] for row in rows]


async def test_deleting_a_message_takes_its_mentions(
    replicas: Replicas, users: Users, db: asyncpg.Connection
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna", "ben")
    soups = await group(a, users["jake"], members=["anna", "ben"])
    by_jake = await send(a, users["jake"], soups["id"], "@anna @ben soup at 8?")
    by_anna = await send(a, users["anna"], soups["id"], "yes @ben, bring bread")
    kept = await send(a, users["jake"], soups["id"], "@anna thanks")

    async def all_made() -> bool:
        return (
            len(await mentions_of(db, users, "anna")) == 2
            and len(await mentions_of(db, users, "ben")) == 2
        )

    await until(all_made)
    # Its author deletes one, the chat's owner another's (on the other replica).
    path = f"/api/chats/{soups['id']}/messages"
    deleted = [
        await b.delete(f"{path}/{by_jake['id']}", headers=users["jake"]),
        await b.delete(f"{path}/{by_anna['id']}", headers=users["jake"]),
    ]

    assert [response.status for response in deleted] == [204, 204]
    assert await mentions_of(db, users, "anna") == [kept["id"]]
    assert await mentions_of(db, users, "ben") == []
    unread = await (await a.get("/api/notifications/unread-count", headers=users["ben"])).json()
    # ben's invitation to the group is left.
    assert unread == {"unreadCount": 1}


async def test_a_mention_handled_after_its_message_was_deleted_notifies_nobody(
    replicas: Replicas, users: Users, db: asyncpg.Connection
) -> None:
    (chat,) = await replicas(1)
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"], members=["anna"])
    gone = await send(chat, users["jake"], soups["id"], "soon deleted")
    deleted = await chat.delete(
        f"/api/chats/{soups['id']}/messages/{gone['id']}", headers=users["jake"]
    )
    assert deleted.status == 204
    # The message's mention event, as its send recorded it, reaches the consumer only now.
    pool = chat.app[PG_POOL]
    async with pool.acquire() as connection, connection.transaction():
        message = {"chat_id": soups["id"], "id": gone["id"], "seq": gone["seq"]}
        await record_mention(connection, message, users.ids["jake"], ["anna"])
    # A later mention in the same chat is handled after it (one lane per chat).
    later = await send(chat, users["jake"], soups["id"], "@anna here now")

    async def handled() -> list[int] | None:
        made = await mentions_of(db, users, "anna")
        return made if later["id"] in made else None

    assert await until(handled) == [later["id"]]


async def test_an_expired_message_takes_its_mentions(
    replicas: Replicas, users: Users, db: asyncpg.Connection
) -> None:
    # Long enough for the mention to be made first on a busy machine.
    (chat,) = await replicas(1, CHAT_GENERAL_TTL="5", CHAT_EXPIRY_INTERVAL="0.1")
    await users.add("jake", "anna")
    general = await general_id(chat, users["jake"])
    soups = await group(chat, users["jake"], members=["anna"])
    brief = await send(chat, users["jake"], general, "@anna quick, the oven")
    kept = await send(chat, users["jake"], soups["id"], "@anna and here")

    async def made() -> bool:
        return sorted(await mentions_of(db, users, "anna")) == sorted([brief["id"], kept["id"]])

    await until(made)

    async def expired() -> bool:
        return await mentions_of(db, users, "anna") == [kept["id"]]

    await until(expired, timeout=15)
    assert await db.fetchval("SELECT count(*) FROM chat.messages WHERE id = $1", brief["id"]) == 0
