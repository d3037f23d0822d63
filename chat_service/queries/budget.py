"""The general chat's send budget: places taken per user and period."""

from __future__ import annotations

import asyncpg

# Send budget.


async def take_place(connection: asyncpg.Connection, user_id: int, period: int, limit: int) -> bool:
    """Takes one place in the period if one is left; the row lock orders concurrent sends."""
    used: int | None = await connection.fetchval(
        """INSERT INTO send_budget (user_id, period, used) VALUES ($1, $2, 1)
           ON CONFLICT (user_id, period) DO UPDATE SET used = send_budget.used + 1
           WHERE send_budget.used < $3
           RETURNING used""",
        user_id,
        period,
        limit,
    )
    return used is not None


async def give_back(connection: asyncpg.Connection, user_id: int, period: int) -> None:
    await connection.execute(
        """UPDATE send_budget SET used = used - 1
           WHERE user_id = $1 AND period = $2 AND used > 0""",
        user_id,
        period,
    )


async def first_free_period(
    connection: asyncpg.Connection, user_id: int, start: int, limit: int
) -> int:
    """The first period from `start` on with a place left for the user (among as many
    periods as the user has rows, plus one, there is always one)."""
    period: int = await connection.fetchval(
        """SELECT g FROM generate_series(
              $2::bigint,
              $2::bigint + (SELECT count(*) FROM send_budget WHERE user_id = $1 AND period >= $2)
           ) g
           WHERE NOT EXISTS (SELECT 1 FROM send_budget b
                             WHERE b.user_id = $1 AND b.period = g AND b.used >= $3)
           ORDER BY g LIMIT 1""",
        user_id,
        start,
        limit,
    )
    return period


async def used_in(connection: asyncpg.Connection, user_id: int, period: int) -> int:
    used: int | None = await connection.fetchval(
        "SELECT used FROM send_budget WHERE user_id = $1 AND period = $2", user_id, period
    )
    return used or 0


async def reserved_from(
    connection: asyncpg.Connection, user_id: int, period: int
) -> list[asyncpg.Record]:
    """Per period from `period` on, how many of the user's scheduled messages hold a place."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT budget_period AS period, count(*) AS reserved FROM messages
           WHERE author_id = $1 AND seq IS NULL AND budget_period >= $2
           GROUP BY budget_period ORDER BY budget_period""",
        user_id,
        period,
    )
    return rows


async def set_reservation(
    connection: asyncpg.Connection, message_id: int, period: int | None
) -> None:
    await connection.execute(
        "UPDATE messages SET budget_period = $2 WHERE id = $1", message_id, period
    )


async def delete_past_periods(connection: asyncpg.Connection, before: int, limit: int) -> int:
    result: str = await connection.execute(
        """DELETE FROM send_budget WHERE (user_id, period) IN (
              SELECT user_id, period FROM send_budget WHERE period < $1
              LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
    )
    return int(result.split()[-1])
