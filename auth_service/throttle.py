"""The failed-login limit: per account and per IP, counted in Redis.

The window opens at the first failure and is not extended by later ones.
"""

from __future__ import annotations

import hashlib
import logging

import redis.asyncio as aioredis

from shared.web.errors import TooManyRequests

log = logging.getLogger(__name__)


class LoginThrottle:
    def __init__(self, redis: aioredis.Redis, max_account: int, max_ip: int, window: int) -> None:
        self._redis = redis
        self._limits = {"account": max_account, "ip": max_ip}
        self._window = window

    def _keys(self, email: str, ip: str) -> dict[str, str]:
        # Addresses are hashed: Redis is no place to keep personal data in clear.
        account = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
        return {"account": f"login:fail:account:{account}", "ip": f"login:fail:ip:{ip}"}

    async def check(self, email: str, ip: str) -> None:
        """Raises TooManyRequests while a limit is reached; passes if Redis is down."""
        keys = self._keys(email, ip)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys.values():
                    pipe.get(key)
                    pipe.ttl(key)
                values = await pipe.execute()
        except aioredis.RedisError as exc:
            log.warning("login throttle unavailable; passing", extra={"error": repr(exc)})
            return
        for index, scope in enumerate(keys):
            count, ttl = values[index * 2], values[index * 2 + 1]
            limit = self._limits[scope]
            if limit and count is not None and int(count) >= limit:
                raise TooManyRequests(
                    "too many failed logins; try again later", retry_after=max(int(ttl), 1)
                )

    async def record_failure(self, email: str, ip: str) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for key in self._keys(email, ip).values():
                    pipe.incr(key)
                    # The window opens at the first failure and is not extended by later ones.
                    pipe.expire(key, self._window, nx=True)
                await pipe.execute()
        except aioredis.RedisError as exc:
            log.warning("login failure not counted", extra={"error": repr(exc)})

    async def clear_account(self, email: str, ip: str) -> None:
        try:
            await self._redis.delete(self._keys(email, ip)["account"])
        except aioredis.RedisError as exc:
            log.warning("login throttle not cleared", extra={"error": repr(exc)})
