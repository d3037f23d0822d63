"""Messages: sending, history, edits, tombstones, read markers and expiry."""

from __future__ import annotations

import asyncpg

from chat_service.queries.columns import (
    LIVE,
    MESSAGE_COLUMNS,
    MESSAGE_FROM,
    MESSAGE_JOINS,
    message_ttl,
)

# Messages.


async def insert_message(
    connection: asyncpg.Connection,
    chat_id: int,
    author_id: int,
    body: str,
    reply_to: int | None,
    general_ttl: int,
    attachment_id: str | None = None,
) -> asyncpg.Record:
    """Stores a message with its chat's next seq; the counter row's lock orders concurrent
    senders on every replica, and the seq commits (or rolls back) with the message."""
    row: asyncpg.Record = await connection.fetchrow(
        f"""WITH counter AS (
               UPDATE chats SET last_seq = last_seq + 1, last_activity_at = now()
               WHERE id = $1
               RETURNING last_seq, {message_ttl("$5")} AS ttl
            ), stored AS (
               INSERT INTO messages (chat_id, seq, author_id, body, reply_to, expires_at,
                                     attachment_id)
               SELECT $1, last_seq, $2, $3, $4,
                      CASE WHEN ttl > 0 THEN now() + make_interval(secs => ttl) END, $6
               FROM counter
               RETURNING *
            )
            SELECT {MESSAGE_COLUMNS} FROM stored m {MESSAGE_JOINS}""",
        chat_id,
        author_id,
        body,
        reply_to,
        general_ttl,
        attachment_id,
    )
    return row


async def advance_read(connection: asyncpg.Connection, chat_id: int, user_id: int, seq: int) -> int:
    """Moves the member's marker forward to `seq` (never back, never past the last seq)."""
    read_seq: int | None = await connection.fetchval(
        """UPDATE chat_members me SET read_seq = GREATEST(me.read_seq, LEAST($3, c.last_seq))
           FROM chats c WHERE c.id = me.chat_id AND me.chat_id = $1 AND me.user_id = $2
           RETURNING me.read_seq""",
        chat_id,
        user_id,
        seq,
    )
    return read_seq or 0


async def unread_count(connection: asyncpg.Connection, chat_id: int, user_id: int) -> int:
    count: int = await connection.fetchval(
        f"""SELECT count(*) FROM messages m JOIN chat_members me
              ON me.chat_id = m.chat_id AND me.user_id = $2
            WHERE m.chat_id = $1 AND m.seq > me.read_seq AND NOT m.deleted
              AND m.author_id <> $2 AND {LIVE}""",
        chat_id,
        user_id,
    )
    return count


async def message_in_chat(
    connection: asyncpg.Connection, chat_id: int, message_id: int
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await connection.fetchrow(
        f"""SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
            WHERE m.chat_id = $1 AND m.id = $2 AND {LIVE}""",
        chat_id,
        message_id,
    )
    return row


async def messages_after(
    connection: asyncpg.Connection,
    chat_id: int,
    after_seq: int,
    limit: int,
    upto: int | None = None,
) -> list[asyncpg.Record]:
    """Oldest first: the messages after a seq (resume, unread, the page after a message)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
            WHERE m.chat_id = $1 AND m.seq > $2 AND ($4::bigint IS NULL OR m.seq <= $4)
              AND {LIVE}
            ORDER BY m.seq LIMIT $3""",
        chat_id,
        after_seq,
        limit,
        upto,
    )
    return rows


async def messages_before(
    connection: asyncpg.Connection, chat_id: int, before_seq: int | None, limit: int
) -> list[asyncpg.Record]:
    """Oldest first: the `limit` messages before a seq, or the last ones."""
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT * FROM (
              SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
              WHERE m.chat_id = $1 AND ($2::bigint IS NULL OR m.seq < $2) AND {LIVE}
              ORDER BY m.seq DESC LIMIT $3) page
            ORDER BY seq""",
        chat_id,
        before_seq,
        limit,
    )
    return rows


async def seq_of(connection: asyncpg.Connection, chat_id: int, message_id: int) -> int | None:
    seq: int | None = await connection.fetchval(
        "SELECT seq FROM messages WHERE chat_id = $1 AND id = $2", chat_id, message_id
    )
    return seq


async def edit_message(
    connection: asyncpg.Connection, chat_id: int, message_id: int, body: str
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        f"""WITH changed AS (
              UPDATE messages SET body = $3, edited_at = now()
              WHERE chat_id = $1 AND id = $2 RETURNING *)
            SELECT {MESSAGE_COLUMNS} FROM changed m {MESSAGE_JOINS}""",
        chat_id,
        message_id,
        body,
    )
    return row


async def tombstone_message(
    connection: asyncpg.Connection, chat_id: int, message_id: int
) -> str | None:
    """Empties a message, keeping its id and seq, and removes its comments; returns the
    attachment it showed."""
    attachment: str | None = await connection.fetchval(
        """UPDATE messages m SET body = NULL, deleted = true, attachment_id = NULL,
             comments_count = 0
           FROM messages old WHERE old.id = m.id AND m.chat_id = $1 AND m.id = $2
           RETURNING old.attachment_id""",
        chat_id,
        message_id,
    )
    await connection.execute("DELETE FROM message_comments WHERE message_id = $1", message_id)
    return attachment


async def delete_expired(connection: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Removes up to `limit` expired messages, each by one replica only."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """DELETE FROM messages WHERE id IN (
              SELECT id FROM messages WHERE expires_at <= now()
              ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING id, chat_id, seq, attachment_id""",
        limit,
    )
    return rows


async def lock_shown_message(connection: asyncpg.Connection, message_id: int) -> bool:
    """Whether the message is still shown (neither deleted nor expired), holding it so until
    the transaction ends: its deletion, which removes what was built of it, waits for that."""
    found = await connection.fetchval(
        "SELECT true FROM messages WHERE id = $1 AND NOT deleted FOR SHARE", message_id
    )
    return found is not None
