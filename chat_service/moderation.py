"""The rules on sending: a budget of messages per period in the general chat, and bans that
follow reports from several people."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from chat_service import compose
from chat_service.queries import moderation as q_moderation
from chat_service.settings import ChatSettings
from chat_service.users import Directory, first_use
from shared.logs import ThrottledWarning
from shared.web.errors import Conflict, Forbidden, TooManyRequests, ValidationFailed
from shared.web.identity import Caller
from shared.web.timefmt import iso

log = logging.getLogger(__name__)
_limit_unavailable = ThrottledWarning(log, "send limit unavailable: Redis does not answer")


@dataclass(frozen=True)
class Budget:
    limit: int
    used: int
    resets_at: float  # epoch seconds

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def as_json(self, period: int) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "periodSeconds": period,
            "resetsAt": iso(datetime.fromtimestamp(self.resets_at, UTC)),
        }


class SendLimit:
    """At most `limit` messages per user in fixed periods of `period` seconds (counted from
    the epoch, so every replica agrees on when a period ends), counted in Redis. Without
    Redis the limit is not enforced rather than refusing every message."""

    def __init__(self, redis: aioredis.Redis, limit: int, period: int) -> None:
        self.redis = redis
        self.limit = limit
        self.period = period

    def _window(self, now: float) -> tuple[str, float]:
        index = math.floor(now / self.period)
        return str(index), (index + 1) * self.period

    def _key(self, user_id: int, index: str) -> str:
        return f"chat:sends:{user_id}:{index}"

    async def take(self, user_id: int) -> None:
        """Counts one message; 429 with Retry-After up to the period's end when over."""
        if self.limit <= 0:
            return
        now = time.time()
        index, resets_at = self._window(now)
        key = self._key(user_id, index)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self.period + 60)
                used, _ = await pipe.execute()
        except (OSError, aioredis.RedisError) as exc:
            _limit_unavailable(exc)
            return
        if int(used) > self.limit:
            retry = math.ceil(resets_at - now)
            raise TooManyRequests(
                f"you can send {self.limit} messages to the general chat per period; "
                f"try again in {retry} s",
                retry_after=retry,
            )

    async def give_back(self, user_id: int) -> None:
        """Returns a message counted for a send that then failed."""
        if self.limit <= 0:
            return
        index, _ = self._window(time.time())
        try:
            await self.redis.decr(self._key(user_id, index))
        except (OSError, aioredis.RedisError) as exc:
            _limit_unavailable(exc)

    async def budget(self, user_id: int) -> Budget:
        index, resets_at = self._window(time.time())
        try:
            used = await self.redis.get(self._key(user_id, index))
        except (OSError, aioredis.RedisError) as exc:
            _limit_unavailable(exc)
            used = None
        return Budget(self.limit, min(int(used or 0), self.limit), resets_at)


class Moderation:
    def __init__(self, pool: asyncpg.Pool, settings: ChatSettings, users: Directory) -> None:
        self.pool = pool
        self.settings = settings
        self.users = users

    async def check_not_banned(self, connection: asyncpg.Connection, user_id: int) -> None:
        until = await q_moderation.banned_until(connection, user_id)
        if until is not None:
            raise Forbidden(f"you are banned from sending messages until {iso(until)}")

    @first_use
    async def report(self, caller: Caller, username: str, reason: str) -> dict[str, Any]:
        """Files a report; the `ban_reports`-th from different people within a ban period
        bans the reported user from sending for a ban period."""
        await self.users.ensure(caller)
        period = timedelta(seconds=self.settings.ban_seconds)
        async with self.pool.acquire() as connection, connection.transaction():
            reported = await self.users.by_username(connection, username)
            if reported["id"] == caller.id:
                raise ValidationFailed(
                    "you cannot report yourself", fields={"username": ["is yourself"]}
                )
            # The reported user's row orders concurrent reports about them.
            await q_moderation.lock_user(connection, reported["id"])
            since = await q_moderation.report_window_start(connection, reported["id"], period)
            if await q_moderation.has_reported(connection, caller.id, reported["id"], since):
                raise Conflict(f"you have already reported {reported['username']}")
            row = await q_moderation.insert_report(connection, caller.id, reported["id"], reason)
            reporters = await q_moderation.count_reporters(connection, reported["id"], since)
            banned_until = None
            if reporters >= self.settings.ban_reports and (
                await q_moderation.banned_until(connection, reported["id"]) is None
            ):
                banned_until = await q_moderation.insert_ban(
                    connection,
                    reported["id"],
                    f"reported by {reporters} people",
                    datetime.now(UTC) + period,
                )
        if banned_until is not None:
            log.info("user banned", extra={"user_id": reported["id"], "until": iso(banned_until)})
        return {
            "id": row["id"],
            "user": compose.person(reported["username"], reported["image"]),
            "reason": row["reason"],
            "createdAt": iso(row["created_at"]),
        }

    async def bans_of(self, connection: asyncpg.Connection, user_id: int) -> list[dict[str, Any]]:
        rows = await q_moderation.active_bans(connection, user_id)
        return [
            {
                "reason": row["reason"],
                "startsAt": iso(row["starts_at"]),
                "endsAt": iso(row["ends_at"]),
            }
            for row in rows
        ]
