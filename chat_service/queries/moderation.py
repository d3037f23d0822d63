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
    connection: asyncpg.Connection, reporter_id: int, reported_id: int, reason: str, counted: bool
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        """INSERT INTO reports (reporter_id, reported_id, reason, counted)
           VALUES ($1, $2, $3, $4)
           RETURNING id, reason, created_at""",
        reporter_id,
        reported_id,
        reason,
        counted,
    )
    return row


async def count_reporters(connection: asyncpg.Connection, reported_id: int, since: datetime) -> int:
    count: int = await connection.fetchval(
        """SELECT count(DISTINCT reporter_id) FROM reports
           WHERE reported_id = $1 AND created_at > $2 AND counted""",
        reported_id,
        since,
    )
    return count


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


# The moderators' side: the report queue, bans by hand, the audit log.


async def link_reports_to_ban(
    connection: asyncpg.Connection, reported_id: int, since: datetime, ban_id: int
) -> None:
    await connection.execute(
        """UPDATE reports SET ban_id = $3
           WHERE reported_id = $1 AND created_at > $2 AND counted AND ban_id IS NULL""",
        reported_id,
        since,
        ban_id,
    )


REPORT_COLUMNS = """r.id, r.reason, r.counted, r.created_at, r.status, r.resolution,
    reporter.username AS reporter_username, reporter.image AS reporter_image,
    reported.username AS reported_username, reported.image AS reported_image"""
REPORT_FROM = """reports r JOIN users reporter ON reporter.id = r.reporter_id
    JOIN users reported ON reported.id = r.reported_id"""


async def reports_page(
    connection: asyncpg.Connection, status: str | None, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {REPORT_COLUMNS} FROM {REPORT_FROM}
            WHERE $1::text IS NULL OR r.status = $1
            ORDER BY r.id DESC LIMIT $2 OFFSET $3""",
        status,
        limit,
        offset,
    )
    count: int = await connection.fetchval(
        "SELECT count(*) FROM reports WHERE $1::text IS NULL OR status = $1", status
    )
    return rows, count


async def resolve_report(
    connection: asyncpg.Connection,
    report_id: int,
    resolution: str,
    moderator_id: int,
    note: str | None,
) -> asyncpg.Record | None:
    """Resolves an open report once; None when there is no open report of that id."""
    row: asyncpg.Record | None = await connection.fetchrow(
        """UPDATE reports SET status = 'resolved', resolution = $2, resolved_by = $3,
             resolved_at = now(), note = $4
           WHERE id = $1 AND status = 'open'
           RETURNING id, reported_id, ban_id""",
        report_id,
        resolution,
        moderator_id,
        note,
    )
    return row


async def report_exists(connection: asyncpg.Connection, report_id: int) -> bool:
    found: bool | None = await connection.fetchval(
        "SELECT true FROM reports WHERE id = $1", report_id
    )
    return bool(found)


async def report_by_id(connection: asyncpg.Connection, report_id: int) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        f"SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE r.id = $1", report_id
    )
    return row


async def standing_reports_of_ban(connection: asyncpg.Connection, ban_id: int) -> int:
    """How many reporters behind an automatic ban have not been dismissed."""
    count: int = await connection.fetchval(
        """SELECT count(DISTINCT reporter_id) FROM reports
           WHERE ban_id = $1 AND resolution IS DISTINCT FROM 'dismissed'""",
        ban_id,
    )
    return count


async def lift_ban(connection: asyncpg.Connection, ban_id: int, by_id: int) -> bool:
    result: str = await connection.execute(
        """UPDATE bans SET ends_at = now(), lifted_by = $2, lifted_at = now()
           WHERE id = $1 AND ends_at > now()""",
        ban_id,
        by_id,
    )
    return result != "UPDATE 0"


async def lift_bans_of(connection: asyncpg.Connection, user_id: int, by_id: int) -> int:
    result: str = await connection.execute(
        """UPDATE bans SET ends_at = now(), lifted_by = $2, lifted_at = now()
           WHERE user_id = $1 AND ends_at > now()""",
        user_id,
        by_id,
    )
    return int(result.split()[-1])


async def insert_ban_by(
    connection: asyncpg.Connection,
    user_id: int,
    reason: str,
    ends_at: datetime,
    by_id: int | None,
) -> int:
    ban_id: int = await connection.fetchval(
        """INSERT INTO bans (user_id, reason, ends_at, by_id) VALUES ($1, $2, $3, $4)
           RETURNING id""",
        user_id,
        reason,
        ends_at,
        by_id,
    )
    return ban_id


async def active_bans_all(connection: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT b.reason, b.ends_at, u.username, u.image,
                  m.username AS by_username, m.image AS by_image
           FROM bans b JOIN users u ON u.id = b.user_id
           LEFT JOIN users m ON m.id = b.by_id
           WHERE b.ends_at > now() ORDER BY b.ends_at DESC, b.id DESC LIMIT 1000"""
    )
    return rows


async def log_action(
    connection: asyncpg.Connection,
    moderator_id: int,
    moderator: str,
    service: str,
    action: str,
    target: str,
    reason: str | None,
    event_id: str | None = None,
) -> None:
    await connection.execute(
        """INSERT INTO moderation_log
             (moderator_id, moderator, service, action, target, reason, event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (event_id) DO NOTHING""",
        moderator_id,
        moderator,
        service,
        action,
        target,
        reason,
        event_id,
    )


async def log_page(connection: asyncpg.Connection, limit: int, offset: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT id, moderator, service, action, target, reason, created_at
           FROM moderation_log ORDER BY id DESC LIMIT $1 OFFSET $2""",
        limit,
        offset,
    )
    return rows
