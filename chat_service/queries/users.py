"""Chat's copy of the users auth owns, and what a user belongs to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

# Users.


async def upsert_user(
    connection: asyncpg.Connection, user_id: int, username: str, image: Any
) -> None:
    # Writers of one name (an event and a first use of the same account) take turns: ON
    # CONFLICT settles races on the id only, and the name's unique index would fail the second.
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtext('chat.users'), hashtext(lower($1)))", username
    )
    # A name taken over from an account whose rename we have not heard of yet: that account
    # keeps a placeholder until its own event arrives.
    await connection.execute(
        """UPDATE users SET username = username || '#' || id
           WHERE lower(username) = lower($2) AND id <> $1 AND NOT deleted""",
        user_id,
        username,
    )
    await connection.execute(
        """INSERT INTO users (id, username, image) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE
           SET username = EXCLUDED.username, image = EXCLUDED.image, updated_at = now()
           WHERE NOT users.deleted""",
        user_id,
        username,
        image,
    )


async def user_exists(connection: asyncpg.Connection, user_id: int) -> bool:
    found: bool | None = await connection.fetchval(
        "SELECT true FROM users WHERE id = $1 AND NOT deleted", user_id
    )
    return bool(found)


async def user_by_username(connection: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await connection.fetchrow(
        "SELECT id, username, image FROM users WHERE lower(username) = lower($1) AND NOT deleted",
        username,
    )
    return row


async def users_by_ids(
    connection: asyncpg.Connection, user_ids: Sequence[int]
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        "SELECT id, username, image FROM users WHERE id = ANY($1::bigint[]) AND NOT deleted",
        list(user_ids),
    )
    return rows


async def mark_user_deleted(connection: asyncpg.Connection, user_id: int) -> None:
    await connection.execute(
        "INSERT INTO users (id, username, deleted) VALUES ($1, '#' || $1::bigint, true) "
        "ON CONFLICT (id) DO UPDATE SET deleted = true, image = NULL, updated_at = now()",
        user_id,
    )


async def tombstone_messages_by(
    connection: asyncpg.Connection, user_id: int
) -> list[asyncpg.Record]:
    """Empties a departed account's messages (scheduled ones go); returns (id, chat_id, seq,
    attachment_id) of those changed."""
    await connection.execute("DELETE FROM messages WHERE author_id = $1 AND seq IS NULL", user_id)
    rows: list[asyncpg.Record] = await connection.fetch(
        """UPDATE messages m SET body = NULL, deleted = true, attachment_id = NULL,
             comments_count = 0
           FROM messages old WHERE old.id = m.id AND m.author_id = $1 AND NOT m.deleted
           RETURNING m.id, m.chat_id, m.seq, old.attachment_id""",
        user_id,
    )
    # Comments go with their message.
    await connection.execute(
        "DELETE FROM message_comments WHERE message_id = ANY($1::bigint[])",
        [row["id"] for row in rows],
    )
    return rows


async def chats_owned_by(connection: asyncpg.Connection, user_id: int) -> list[int]:
    rows = await connection.fetch("SELECT id FROM chats WHERE owner_id = $1", user_id)
    return [row["id"] for row in rows]


async def member_chat_ids(
    connection: asyncpg.Connection, user_id: int, *, general: bool = True
) -> list[int]:
    rows = await connection.fetch(
        """SELECT m.chat_id FROM chat_members m JOIN chats c ON c.id = m.chat_id
           WHERE m.user_id = $1 AND ($2 OR c.kind <> 'general')""",
        user_id,
        general,
    )
    return [row["chat_id"] for row in rows]


async def users_by_names(
    connection: asyncpg.Connection, usernames: Sequence[str]
) -> dict[str, int]:
    """The live accounts of these names (without regard to case), by lower-cased name."""
    rows = await connection.fetch(
        "SELECT id, lower(username) AS name FROM users "
        "WHERE lower(username) = ANY($1::text[]) AND NOT deleted",
        [name.lower() for name in usernames],
    )
    return {row["name"]: row["id"] for row in rows}
