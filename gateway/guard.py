"""Rate limits and the revocation list, answered together in one Redis round trip.

Counters are fixed windows in Redis, so every gateway replica shares them. If Redis is down
the request passes (fail open): the failure is logged and counted, never shown to users.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from prometheus_client import Counter

log = logging.getLogger(__name__)

REVOKED_PREFIX = "revoked:jti:"


@dataclass(frozen=True)
class Verdict:
    limited: bool
    limit: int
    remaining: int
    reset: int
    revoked: bool


class Guard:
    def __init__(self, redis: aioredis.Redis, window: int, failures: Counter) -> None:
        self._redis = redis
        self._window = window
        self._failures = failures
        self._last_warning = 0.0

    async def check(self, group: str, subject: str, limit: int, jti: str | None) -> Verdict:
        now = time.time()
        window_number = int(now // self._window)
        reset = max(1, int((window_number + 1) * self._window - now))
        if not limit and jti is None:
            return Verdict(False, 0, 0, reset, False)
        key = f"rl:{group}:{subject}:{window_number}"
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                if limit:
                    pipe.incr(key)
                    pipe.expire(key, self._window + 1, nx=True)
                if jti is not None:
                    pipe.exists(f"{REVOKED_PREFIX}{jti}")
                results = await pipe.execute()
        except (aioredis.RedisError, OSError) as exc:
            self._failures.inc()
            if now - self._last_warning > 10:  # one line per ten seconds, not one per request
                self._last_warning = now
                log.warning("rate limit and revocation checks skipped", extra={"error": repr(exc)})
            return Verdict(False, limit, limit, reset, False)
        count = int(results[0]) if limit else 0
        revoked = bool(results[-1]) if jti is not None else False
        return Verdict(bool(limit) and count > limit, limit, max(0, limit - count), reset, revoked)
