"""The general chat's send budget: at most `limit` messages, comments and edits per user in
fixed periods of `period` seconds (counted from the epoch, so every replica agrees on when a
period ends). Each takes a place in the period in which it is delivered: now for what is sent
now, the period of its `sendAt` for a scheduled message, taken when it is scheduled.

The places are counted in PostgreSQL, in the transaction of the write they pay for: a failed
write gives its place back by rolling back, and no restart of Redis clears the count."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from chat_service.queries import budget as q_budget
from shared.web.errors import TooManyRequests
from shared.web.timefmt import iso


def _at(epoch: float) -> str:
    return iso(datetime.fromtimestamp(epoch, UTC))


@dataclass(frozen=True)
class Budget:
    limit: int
    used: int
    reserved: int
    resets_at: float  # epoch seconds
    later: list[tuple[float, int]]  # (a later period's end, places its scheduled messages hold)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def as_json(self, period: int) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reserved": self.reserved,
            "periodSeconds": period,
            "resetsAt": _at(self.resets_at),
            "reservations": [
                {"startsAt": _at(ends - period), "resetsAt": _at(ends), "reserved": count}
                for ends, count in self.later
            ],
        }


class SendBudget:
    def __init__(self, limit: int, period: int) -> None:
        self.limit = limit
        self.period = period

    @property
    def enforced(self) -> bool:
        return self.limit > 0

    def period_of(self, moment: float) -> int:
        return math.floor(moment / self.period)

    def ends_of(self, period: int) -> float:
        return float((period + 1) * self.period)

    async def take(
        self, connection: asyncpg.Connection, user_id: int, at: datetime | None = None
    ) -> int | None:
        """Takes a place in the period of `at` (now by default) and returns that period;
        429 with Retry-After up to that period's end when it is full."""
        if not self.enforced:
            return None
        now = time.time()
        period = self.period_of(at.timestamp() if at is not None else now)
        if not await q_budget.take_place(connection, user_id, period, self.limit):
            ends = self.ends_of(period)
            retry = max(1, math.ceil(ends - now))
            raise TooManyRequests(
                f"you can send {self.limit} messages to the general chat per period; "
                f"the period ending at {_at(ends)} is full",
                retry_after=retry,
            )
        return period

    async def give_back(
        self, connection: asyncpg.Connection, user_id: int, period: int | None
    ) -> None:
        if period is not None:
            await q_budget.give_back(connection, user_id, period)

    async def move(
        self,
        connection: asyncpg.Connection,
        user_id: int,
        period: int | None,
        not_before: datetime,
    ) -> tuple[int | None, datetime]:
        """Moves a scheduled message's place to the first period from `not_before` on with
        one left (a postponed message must not crowd a later period); returns that period
        and the moment it may be delivered."""
        if not self.enforced or period is None:
            return period, not_before
        await q_budget.give_back(connection, user_id, period)
        first = start = self.period_of(not_before.timestamp())
        while True:
            free = await q_budget.first_free_period(connection, user_id, start, self.limit)
            if await q_budget.take_place(connection, user_id, free, self.limit):
                break
            start = free  # taken meanwhile by a concurrent send: look again from there
        if free == first:
            return free, not_before
        return free, datetime.fromtimestamp(free * self.period, UTC)

    async def budget(self, connection: asyncpg.Connection, user_id: int) -> Budget:
        now = time.time()
        current = self.period_of(now)
        used = await q_budget.used_in(connection, user_id, current)
        rows = await q_budget.reserved_from(connection, user_id, current)
        reserved = {row["period"]: row["reserved"] for row in rows}
        later = [(self.ends_of(p), n) for p, n in sorted(reserved.items()) if p > current]
        return Budget(
            self.limit,
            min(used, self.limit),
            reserved.get(current, 0),
            self.ends_of(current),
            later,
        )

    async def prune(self, connection: asyncpg.Connection, batch_size: int) -> int:
        """Removes the counts of periods that ended."""
        current = self.period_of(time.time())
        return await q_budget.delete_past_periods(connection, current, batch_size)
