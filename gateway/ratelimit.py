"""Rate limits in Redis, shared by every gateway replica, at almost no cost per request.

Each replica counts locally and adds its counts to the shared Redis counter of the window
every `flush_interval`; while a key is far from its limit a request never waits for Redis.
Once a key's known total comes within `sync_margin` of its limit (or `sync_below` requests,
whichever is more), every request of that key is counted in Redis synchronously, so the
limit holds exactly where it matters; far from it, replicas may overshoot by what they
count in one flush interval. Counters are
fixed windows. If Redis is down, requests pass (fail open): logged and counted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from prometheus_client import Counter

from shared.logs import ThrottledWarning
from shared.tasks import pause

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    limited: bool
    limit: int
    remaining: int
    reset: int


_UNLIMITED = Verdict(False, 0, 0, 0)


@dataclass
class _Window:
    known: int = 0  # the shared total as Redis last reported it
    pending: int = 0  # counted here, not yet added to Redis


class RateLimiter:
    def __init__(
        self,
        redis: aioredis.Redis,
        window: int,
        failures: Counter,
        *,
        flush_interval: float = 0.1,
        sync_margin: float = 0.2,
        sync_below: int = 50,
    ) -> None:
        self._redis = redis
        self._window = window
        self._failures = failures
        self._flush_interval = flush_interval
        self._sync_margin = sync_margin
        self._sync_below = sync_below
        self._counts: dict[str, _Window] = {}
        self._warn = ThrottledWarning(log, "rate limits counted locally only")
        self._stopping = False

    def _failed(self, exc: Exception) -> None:
        self._failures.inc()
        self._warn(exc)

    def _window_of(self, group: str, subject: str) -> tuple[str, _Window, int]:
        now = time.time()
        number = int(now // self._window)
        reset = max(1, int((number + 1) * self._window - now))
        key = f"rl:{group}:{subject}:{number}"
        state = self._counts.get(key)
        if state is None:
            state = self._counts[key] = _Window()
        return key, state, reset

    def count(self, group: str, subject: str, limit: int) -> Verdict | None:
        """Counts a request locally; None when the key is near its limit and must be counted
        in Redis instead (`count_shared`). A limit of 0 turns limiting off."""
        if not limit:
            return _UNLIMITED
        _, state, reset = self._window_of(group, subject)
        estimate = state.known + state.pending + 1
        if limit - estimate < max(self._sync_below, limit * self._sync_margin):
            return None
        state.pending += 1
        return Verdict(False, limit, limit - estimate, reset)

    async def count_shared(self, group: str, subject: str, limit: int) -> Verdict:
        """Counts a request in Redis, together with what is pending here: exact near a limit."""
        key, state, reset = self._window_of(group, subject)
        add = state.pending + 1
        state.pending = 0
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incrby(key, add)
                pipe.expire(key, self._window + 1, nx=True)
                total, _ = await pipe.execute()
        except (aioredis.RedisError, OSError) as exc:
            # Fail open: an outage of the shared counter never refuses a request.
            self._failed(exc)
            state.pending += add
            estimate = state.known + state.pending
            return Verdict(False, limit, max(0, limit - estimate), reset)
        state.known = int(total)
        return Verdict(state.known > limit, limit, max(0, limit - state.known), reset)

    async def flush(self) -> None:
        """Adds the local counts to Redis and learns the shared totals."""
        current = int(time.time() // self._window)
        for key in [k for k in self._counts if int(k.rsplit(":", 1)[1]) < current]:
            del self._counts[key]  # past windows: their counters are expiring in Redis too
        batch = [
            (key, state, state.pending) for key, state in self._counts.items() if state.pending
        ]
        if not batch:
            return
        for _, state, pending in batch:
            state.pending -= pending
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, _, pending in batch:
                    pipe.incrby(key, pending)
                    pipe.expire(key, self._window + 1, nx=True)
                results = await pipe.execute()
        except (aioredis.RedisError, OSError) as exc:
            self._failed(exc)
            for _, state, pending in batch:
                state.pending += pending
            return
        for index, (_, state, _) in enumerate(batch):
            state.known = int(results[index * 2])

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        while not self._stopping:
            await pause(self._flush_interval)
            await self.flush()
