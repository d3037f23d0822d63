"""Scheduled messages: stored without a seq, sent by one replica when they fall due."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from chat_service.queries.columns import (
    MESSAGE_COLUMNS,
    MESSAGE_FROM,
    MESSAGE_JOINS,
    message_ttl,
)

# Scheduled messages.


async def schedule_message(
    connection: asyncpg.Connection,
    chat_id: int,
    author_id: int,
    body: str | None,
    reply_to: int | None,
    attachment_id: str | None,
    send_at: datetime,
    budget_period: int | None,
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        f"""WITH stored AS (
               INSERT INTO messages (chat_id, seq, author_id, body, reply_to, attachment_id,
                                     send_at, budget_period)
               VALUES ($1, NULL, $2, $3, $4, $5, $6, $7) RETURNING *)
            SELECT {MESSAGE_COLUMNS} FROM stored m {MESSAGE_JOINS}""",
        chat_id,
        author_id,
        body,
        reply_to,
        attachment_id,
        send_at,
        budget_period,
    )
    return row


async def scheduled_of(
    connection: asyncpg.Connection, chat_id: int, author_id: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
            WHERE m.chat_id = $1 AND m.author_id = $2 AND m.seq IS NULL
            ORDER BY m.send_at, m.id""",
        chat_id,
        author_id,
    )
    return rows


async def cancel_scheduled(
    connection: asyncpg.Connection, chat_id: int, author_id: int, message_id: int
) -> tuple[bool, str | None, int | None]:
    """Deletes my scheduled message if it is not sent yet: whether there was one, the
    attachment it carried and the period it held a place in."""
    row = await connection.fetchrow(
        """DELETE FROM messages
           WHERE id = $3 AND chat_id = $1 AND author_id = $2 AND seq IS NULL
           RETURNING attachment_id, budget_period""",
        chat_id,
        author_id,
        message_id,
    )
    if row is None:
        return False, None, None
    attachment: str | None = row["attachment_id"]
    period: int | None = row["budget_period"]
    return True, attachment, period


async def take_due(connection: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Due scheduled messages, locked for this transaction, each taken by one replica; in
    chat order, so that transactions lock chats' counters in one order and never deadlock."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT id, chat_id, author_id, budget_period FROM messages
           WHERE seq IS NULL AND send_at <= now()
           ORDER BY send_at LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )
    return sorted(rows, key=lambda row: (row["chat_id"], row["id"]))


async def deliver_scheduled(
    connection: asyncpg.Connection, message_id: int, chat_id: int, general_ttl: int
) -> asyncpg.Record:
    """Sends a scheduled message now: the chat's next seq, the delivery time, its expiry."""
    row: asyncpg.Record = await connection.fetchrow(
        f"""WITH counter AS (
               UPDATE chats SET last_seq = last_seq + 1, last_activity_at = now()
               WHERE id = $2
               RETURNING last_seq, {message_ttl("$3")} AS ttl
            ), sent AS (
               UPDATE messages SET seq = counter.last_seq, send_at = NULL, created_at = now(),
                 expires_at = CASE WHEN counter.ttl > 0
                                   THEN now() + make_interval(secs => counter.ttl) END
               FROM counter WHERE messages.id = $1
               RETURNING messages.*
            )
            SELECT {MESSAGE_COLUMNS} FROM sent m {MESSAGE_JOINS}""",
        message_id,
        chat_id,
        general_ttl,
    )
    return row


async def postpone(
    connection: asyncpg.Connection, message_id: int, until: datetime, budget_period: int | None
) -> None:
    await connection.execute(
        "UPDATE messages SET send_at = $2, budget_period = $3 WHERE id = $1",
        message_id,
        until,
        budget_period,
    )


async def drop_message(connection: asyncpg.Connection, message_id: int) -> str | None:
    attachment: str | None = await connection.fetchval(
        "DELETE FROM messages WHERE id = $1 RETURNING attachment_id", message_id
    )
    return attachment
