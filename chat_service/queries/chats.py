"""Chats and their members: the general, direct and group chats, counters and roles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from chat_service.queries.attachments import unreferenced
from chat_service.queries.columns import (
    CHAT_COLUMNS,
    CHAT_FROM,
    LIVE,
)

# Chats and members.


async def ensure_general(connection: asyncpg.Connection) -> int:
    chat_id: int | None = await connection.fetchval(
        """INSERT INTO chats (kind, title) VALUES ('general', 'General')
           ON CONFLICT (kind) WHERE kind = 'general' DO NOTHING RETURNING id"""
    )
    if chat_id is None:
        chat_id = await connection.fetchval("SELECT id FROM chats WHERE kind = 'general'")
    assert chat_id is not None
    return chat_id


async def add_member(connection: asyncpg.Connection, chat_id: int, user_id: int, role: str) -> bool:
    """Adds a member whose marker starts at the chat's present: history is not unread."""
    added: bool | None = await connection.fetchval(
        """INSERT INTO chat_members (chat_id, user_id, role, read_seq)
           SELECT id, $2, $3, last_seq FROM chats WHERE id = $1
           ON CONFLICT DO NOTHING RETURNING true""",
        chat_id,
        user_id,
        role,
    )
    return bool(added)


async def remove_member(connection: asyncpg.Connection, chat_id: int, user_id: int) -> bool:
    result: str = await connection.execute(
        "DELETE FROM chat_members WHERE chat_id = $1 AND user_id = $2", chat_id, user_id
    )
    return result != "DELETE 0"


async def create_group(
    connection: asyncpg.Connection, owner_id: int, title: str, description: str, private: bool
) -> int:
    chat_id: int = await connection.fetchval(
        """INSERT INTO chats (kind, title, description, private, owner_id)
           VALUES ('group', $1, $2, $3, $4) RETURNING id""",
        title,
        description,
        private,
        owner_id,
    )
    return chat_id


async def get_or_create_direct(
    connection: asyncpg.Connection, first: int, second: int
) -> tuple[int, bool]:
    """The pair's direct chat, created when missing; settled by the unique key under races."""
    key = f"{min(first, second)}:{max(first, second)}"
    chat_id: int | None = await connection.fetchval(
        """INSERT INTO chats (kind, direct_key) VALUES ('direct', $1)
           ON CONFLICT (direct_key) DO NOTHING RETURNING id""",
        key,
    )
    if chat_id is not None:
        return chat_id, True
    existing: int = await connection.fetchval("SELECT id FROM chats WHERE direct_key = $1", key)
    return existing, False


async def membership(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> asyncpg.Record | None:
    """The chat and the caller's place in it, or None when the caller is not a member."""
    row: asyncpg.Record | None = await connection.fetchrow(
        """SELECT c.id, c.kind, c.owner_id, c.private, c.last_seq, me.role, me.read_seq
           FROM chats c JOIN chat_members me ON me.chat_id = c.id
           WHERE c.id = $1 AND me.user_id = $2""",
        chat_id,
        user_id,
    )
    return row


async def lock_membership(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> asyncpg.Record | None:
    """As `membership`, holding the chat's row until the transaction ends."""
    # The lock first, the member's place after it: read in the statement that waits for the
    # lock, the place would be as it was before whoever held the lock changed it (an owner
    # who left and made this member the owner).
    locked = await connection.fetchval("SELECT true FROM chats WHERE id = $1 FOR UPDATE", chat_id)
    if locked is None:
        return None
    return await membership(connection, chat_id, user_id)


async def chat_for_member(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        f"SELECT {CHAT_COLUMNS} FROM {CHAT_FROM} WHERE c.id = $1 AND me.user_id = $2",
        chat_id,
        user_id,
    )
    return row


async def chats_of(
    connection: asyncpg.Connection, user_id: int, limit: int, offset: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {CHAT_COLUMNS} FROM {CHAT_FROM} WHERE me.user_id = $1
            ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $2 OFFSET $3""",
        user_id,
        limit,
        offset,
    )
    return rows


async def count_chats_of(connection: asyncpg.Connection, user_id: int) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM chat_members WHERE user_id = $1", user_id
    )
    return count


async def positions_of(connection: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    """Per chat of the user: its last seq and the user's unread count (the websocket hello)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT c.id AS chat_id, c.kind, c.last_seq,
              (SELECT count(*) FROM messages m
                WHERE m.chat_id = c.id AND m.seq > me.read_seq AND NOT m.deleted
                  AND m.author_id <> me.user_id AND {LIVE}) AS unread_count
            FROM chats c JOIN chat_members me ON me.chat_id = c.id
            WHERE me.user_id = $1 ORDER BY c.id""",
        user_id,
    )
    return rows


async def last_seqs(connection: asyncpg.Connection, chat_ids: Sequence[int]) -> dict[int, int]:
    rows = await connection.fetch(
        "SELECT id, last_seq FROM chats WHERE id = ANY($1::bigint[])", list(chat_ids)
    )
    return {row["id"]: row["last_seq"] for row in rows}


async def members_of(
    connection: asyncpg.Connection, chat_id: int, limit: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT u.id, u.username, u.image, m.role FROM chat_members m
           JOIN users u ON u.id = m.user_id
           WHERE m.chat_id = $1 ORDER BY m.role = 'owner' DESC, m.joined_at, u.id LIMIT $2""",
        chat_id,
        limit,
    )
    return rows


async def count_members(connection: asyncpg.Connection, chat_id: int) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM chat_members WHERE chat_id = $1", chat_id
    )
    return count


async def update_chat(
    connection: asyncpg.Connection, chat_id: int, changes: dict[str, Any]
) -> None:
    columns = {
        "title": "title",
        "description": "description",
        "private": "private",
        "messageTtlSeconds": "message_ttl_seconds",
    }
    assignments = []
    values: list[Any] = []
    for field, column in columns.items():
        if field in changes:
            values.append(changes[field])
            assignments.append(f"{column} = ${len(values) + 1}")
    if assignments:
        await connection.execute(
            f"UPDATE chats SET {', '.join(assignments)} WHERE id = $1", chat_id, *values
        )


async def delete_chat(connection: asyncpg.Connection, chat_id: int) -> list[str]:
    """Deletes the chat with its messages; returns the files that only they showed, for the
    caller to remove once the transaction has committed."""
    rows = await connection.fetch(
        "SELECT attachment_id FROM messages WHERE chat_id = $1 AND attachment_id IS NOT NULL",
        chat_id,
    )
    await connection.execute("DELETE FROM chats WHERE id = $1", chat_id)
    return await unreferenced(connection, [row["attachment_id"] for row in rows])


async def oldest_other_member(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> int | None:
    successor: int | None = await connection.fetchval(
        """SELECT user_id FROM chat_members WHERE chat_id = $1 AND user_id <> $2
           ORDER BY joined_at, user_id LIMIT 1""",
        chat_id,
        user_id,
    )
    return successor


async def transfer_ownership(connection: asyncpg.Connection, chat_id: int, new_owner: int) -> None:
    await connection.execute("UPDATE chats SET owner_id = $2 WHERE id = $1", chat_id, new_owner)
    await connection.execute(
        "UPDATE chat_members SET role = 'owner' WHERE chat_id = $1 AND user_id = $2",
        chat_id,
        new_owner,
    )
