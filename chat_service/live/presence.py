"""Who is online, across replicas: a user is online while one of their devices is connected.

Each user has a sorted set in Redis of their connected devices, scored by the time the entry
lapses; each replica renews the entries of its sockets in one pipelined round every `ttl / 3`
seconds, so the devices of a replica that died lapse by themselves within `ttl` seconds.
Connections and disconnections take turns through a gate as wide as a small part of the
Redis pool: a thousand sockets closing at once wait for it rather than exhaust the pool.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence

import redis.asyncio as aioredis

from shared.logs import ThrottledWarning

log = logging.getLogger(__name__)
_unavailable = ThrottledWarning(log, "presence unavailable: Redis does not answer")

GATE = 16  # presence calls in flight per replica
RENEW_CHUNK = 500  # devices per pipelined round trip


def _key(user_id: int) -> str:
    return f"chat:presence:{user_id}"


class Presence:
    def __init__(self, redis: aioredis.Redis, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl
        self._gate = asyncio.Semaphore(GATE)

    async def connect(self, user_id: int, device_id: str) -> bool:
        """Records a device; True when it is the user's first (the user came online)."""
        now = time.time()
        try:
            async with self._gate, self.redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(_key(user_id), "-inf", now)
                pipe.zcard(_key(user_id))
                pipe.zadd(_key(user_id), {device_id: now + self.ttl})
                pipe.expire(_key(user_id), self.ttl)
                _, before, _, _ = await pipe.execute()
        except (OSError, aioredis.RedisError) as exc:
            _unavailable(exc)
            return False
        return int(before) == 0

    async def renew(self, devices: Iterable[tuple[int, str]]) -> int:
        """Renews these (user, device) entries, one ZADD and one EXPIRE per user for all of
        their devices, a few hundred devices per round trip; returns how many were
        renewed."""
        by_user: dict[int, list[str]] = {}
        for user_id, device_id in devices:
            by_user.setdefault(user_id, []).append(device_id)
        users = list(by_user.items())
        lapse = time.time() + self.ttl
        renewed = 0
        start = 0
        while start < len(users):
            chunk: list[tuple[int, list[str]]] = []
            size = 0
            while start < len(users) and (size < RENEW_CHUNK or not chunk):
                chunk.append(users[start])
                size += len(users[start][1])
                start += 1
            try:
                async with self._gate, self.redis.pipeline(transaction=False) as pipe:
                    for user_id, device_ids in chunk:
                        pipe.zadd(_key(user_id), dict.fromkeys(device_ids, lapse))
                        pipe.expire(_key(user_id), self.ttl)
                    await pipe.execute()
            except (OSError, aioredis.RedisError) as exc:
                _unavailable(exc)
                return renewed
            renewed += size
        return renewed

    async def disconnect(self, user_id: int, device_id: str) -> bool:
        """Forgets a device; True when it was the user's last (the user went offline)."""
        now = time.time()
        try:
            async with self._gate, self.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(_key(user_id), device_id)
                pipe.zcount(_key(user_id), now, "+inf")
                _, left = await pipe.execute()
        except (OSError, aioredis.RedisError) as exc:
            _unavailable(exc)
            return False
        return int(left) == 0

    async def devices(self, user_id: int) -> int:
        try:
            count: int = await self.redis.zcount(_key(user_id), time.time(), "+inf")
        except (OSError, aioredis.RedisError) as exc:
            _unavailable(exc)
            return 0
        return count

    async def online(self, user_ids: Sequence[int]) -> set[int]:
        if not user_ids:
            return set()
        now = time.time()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for user_id in user_ids:
                    pipe.zcount(_key(user_id), now, "+inf")
                counts = await pipe.execute()
        except (OSError, aioredis.RedisError) as exc:
            _unavailable(exc)
            return set()
        return {user_id for user_id, count in zip(user_ids, counts, strict=True) if count}
