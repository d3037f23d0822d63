"""Comments on messages."""

from __future__ import annotations

import asyncpg

# Comments on messages.


COMMENT_COLUMNS = """c.id, c.message_id, c.body, c.created_at,
    u.username AS author_username, u.image AS author_image, u.deleted AS author_deleted"""


async def insert_comment(
    connection: asyncpg.Connection, message_id: int, author_id: int, body: str
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        f"""WITH counted AS (
               UPDATE messages SET comments_count = comments_count + 1 WHERE id = $1
               RETURNING id
            ), stored AS (
               INSERT INTO message_comments (message_id, author_id, body)
               SELECT id, $2, $3 FROM counted RETURNING *
            )
            SELECT {COMMENT_COLUMNS} FROM stored c JOIN users u ON u.id = c.author_id""",
        message_id,
        author_id,
        body,
    )
    return row


async def comments_of(
    connection: asyncpg.Connection, message_id: int, limit: int, offset: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {COMMENT_COLUMNS} FROM message_comments c JOIN users u ON u.id = c.author_id
            WHERE c.message_id = $1 ORDER BY c.id LIMIT $2 OFFSET $3""",
        message_id,
        limit,
        offset,
    )
    return rows
