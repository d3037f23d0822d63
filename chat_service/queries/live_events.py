"""The log of chat's real-time events (migration 005): written before each publish, read by
replicas that missed one."""

from __future__ import annotations

import asyncpg


async def record(connection: asyncpg.Connection, scope: str, target: int, payload: str) -> int:
    event_id: int = await connection.fetchval(
        "INSERT INTO live_events (scope, target, payload) VALUES ($1, $2, $3) RETURNING id",
        scope,
        target,
        payload,
    )
    return event_id


async def record_now(connection: asyncpg.Connection, scope: str, target: int, payload: str) -> int:
    """As `record`, inside a longer transaction: stamped with the clock at the statement (the
    last of its transaction), not the transaction's start, so that readers take it as settled
    only `settle` seconds after it could commit."""
    event_id: int = await connection.fetchval(
        """INSERT INTO live_events (scope, target, payload, created_at)
           VALUES ($1, $2, $3, clock_timestamp()) RETURNING id""",
        scope,
        target,
        payload,
    )
    return event_id


async def settled_position(connection: asyncpg.Connection, settle: float) -> int:
    """The highest id among events older than `settle` seconds: every event before it is
    committed (each is one short statement), so a reader may start after it."""
    position: int = await connection.fetchval(
        """SELECT coalesce(max(id), 0) FROM live_events
           WHERE created_at <= now() - make_interval(secs => $1)""",
        settle,
    )
    return position


async def last_id(connection: asyncpg.Connection) -> int:
    position: int = await connection.fetchval("SELECT coalesce(max(id), 0) FROM live_events")
    return position


async def events_after(
    connection: asyncpg.Connection, after: int, settle: float, limit: int
) -> list[asyncpg.Record]:
    """Events after `after` in id order, each saying whether it is older than `settle`
    seconds (a publish that has not arrived by then is taken as lost)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT id, scope, target, payload,
                  created_at <= now() - make_interval(secs => $2) AS settled
           FROM live_events WHERE id > $1 ORDER BY id LIMIT $3""",
        after,
        settle,
        limit,
    )
    return rows


async def prune(connection: asyncpg.Connection, older_than: float, limit: int) -> int:
    deleted: str = await connection.execute(
        """DELETE FROM live_events WHERE id IN (
               SELECT id FROM live_events
               WHERE created_at < now() - make_interval(secs => $1)
               ORDER BY created_at LIMIT $2)""",
        older_than,
        limit,
    )
    return int(deleted.split()[-1])
