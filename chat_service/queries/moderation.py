"""Reports and the bans they lead to."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

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
