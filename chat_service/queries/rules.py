"""Attachments, comments on messages, reports and bans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from chat_service.queries.columns import LIVE

# Attachments.


async def insert_attachment(
    connection: asyncpg.Connection,
    file_id: str,
    owner_id: int,
    filename: str,
    content_type: str,
    size: int,
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        """INSERT INTO attachments (id, owner_id, filename, content_type, size)
           VALUES ($1, $2, $3, $4, $5) RETURNING id, filename, content_type, size""",
        file_id,
        owner_id,
        filename,
        content_type,
        size,
    )
    return row


async def claim_attachment(connection: asyncpg.Connection, file_id: str, owner_id: int) -> bool:
    """Marks an upload of the owner as attached, holding it against the clean-up until the
    transaction ends; False when the owner has no such upload."""
    found: bool | None = await connection.fetchval(
        """UPDATE attachments SET attached = true WHERE id = $1 AND owner_id = $2
           RETURNING true""",
        file_id,
        owner_id,
    )
    return bool(found)


async def visible_attachment(
    connection: asyncpg.Connection, file_id: str, user_id: int
) -> asyncpg.Record | None:
    """The file when the user uploaded it, or is a member of a chat where it was posted."""
    row: asyncpg.Record | None = await connection.fetchrow(
        f"""SELECT a.id, a.filename, a.content_type, a.size FROM attachments a
            WHERE a.id = $1 AND (a.owner_id = $2 OR EXISTS (
              SELECT 1 FROM messages m JOIN chat_members cm
                ON cm.chat_id = m.chat_id AND cm.user_id = $2
              WHERE m.attachment_id = a.id AND NOT m.deleted AND {LIVE}))""",
        file_id,
        user_id,
    )
    return row


async def unreferenced(connection: asyncpg.Connection, file_ids: Sequence[str]) -> list[str]:
    """Of these files, those no message shows any more (removed with their last message)."""
    rows = await connection.fetch(
        """DELETE FROM attachments a WHERE a.id = ANY($1::text[])
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.attachment_id = a.id)
           RETURNING a.id""",
        list(file_ids),
    )
    return [row["id"] for row in rows]


async def delete_orphan_attachments(
    connection: asyncpg.Connection, age_seconds: int, limit: int
) -> list[str]:
    rows = await connection.fetch(
        """DELETE FROM attachments WHERE id IN (
              SELECT a.id FROM attachments a
              WHERE NOT a.attached AND a.created_at < now() - make_interval(secs => $1)
                AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.attachment_id = a.id)
              ORDER BY a.created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING id""",
        age_seconds,
        limit,
    )
    return [row["id"] for row in rows]


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


# Reports and bans.


async def lock_user(connection: asyncpg.Connection, user_id: int) -> None:
    await connection.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)


async def report_window_start(
    connection: asyncpg.Connection, user_id: int, period: timedelta
) -> datetime:
    """Reports count from a ban period ago, or from the end of the user's last ban if later:
    the reports that led to a ban do not lead to the next."""
    since: datetime = await connection.fetchval(
        """SELECT GREATEST(now() - $2::interval,
                           COALESCE(max(ends_at), '-infinity'::timestamptz))
           FROM bans WHERE user_id = $1""",
        user_id,
        period,
    )
    return since


async def has_reported(
    connection: asyncpg.Connection, reporter_id: int, reported_id: int, since: datetime
) -> bool:
    found: bool | None = await connection.fetchval(
        """SELECT true FROM reports
           WHERE reported_id = $2 AND reporter_id = $1 AND created_at > $3 LIMIT 1""",
        reporter_id,
        reported_id,
        since,
    )
    return bool(found)


async def insert_report(
    connection: asyncpg.Connection, reporter_id: int, reported_id: int, reason: str
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        """INSERT INTO reports (reporter_id, reported_id, reason) VALUES ($1, $2, $3)
           RETURNING id, reason, created_at""",
        reporter_id,
        reported_id,
        reason,
    )
    return row


async def count_reporters(connection: asyncpg.Connection, reported_id: int, since: datetime) -> int:
    count: int = await connection.fetchval(
        """SELECT count(DISTINCT reporter_id) FROM reports
           WHERE reported_id = $1 AND created_at > $2""",
        reported_id,
        since,
    )
    return count


async def insert_ban(
    connection: asyncpg.Connection, user_id: int, reason: str, ends_at: datetime
) -> datetime:
    until: datetime = await connection.fetchval(
        "INSERT INTO bans (user_id, reason, ends_at) VALUES ($1, $2, $3) RETURNING ends_at",
        user_id,
        reason,
        ends_at,
    )
    return until


async def banned_until(connection: asyncpg.Connection, user_id: int) -> datetime | None:
    until: datetime | None = await connection.fetchval(
        "SELECT max(ends_at) FROM bans WHERE user_id = $1 AND ends_at > now()", user_id
    )
    return until


async def active_bans(connection: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT reason, starts_at, ends_at FROM bans
           WHERE user_id = $1 AND ends_at > now() ORDER BY ends_at DESC""",
        user_id,
    )
    return rows
