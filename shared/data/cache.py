"""Cache helpers: JSON values in Redis that degrade to the source when Redis fails, and
single-flight loading so that concurrent misses on one key load once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis

from shared.data.redis import send_commands
from shared.logs import ThrottledWarning
from shared.transport.redis_pipeline import PipelinedRedis
from shared.web.jsoncodec import dumps, loads

log = logging.getLogger(__name__)

T = TypeVar("T")


class SingleFlight:
    """Collapses concurrent loads of one key in this process into a single call."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def do(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        running = self._inflight.get(key)
        if running is not None:
            result: T = await asyncio.shield(running)
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._inflight[key]


class JsonCache:
    """Redis as a cache of JSON values; every Redis failure is a miss, never an error."""

    def __init__(
        self, redis: aioredis.Redis, ttl: int, pipelined: PipelinedRedis | None = None
    ) -> None:
        self.redis = redis
        self.ttl = ttl
        self.pipelined = pipelined  # the faster path, when the service has one
        self._warn = ThrottledWarning(log, "cache unavailable; reading the source")

    async def get_many(self, keys: Sequence[str]) -> list[Any | None]:
        if not keys:
            return []
        try:
            if self.pipelined is not None:
                raw = await self.pipelined.mget(list(keys))
            else:
                raw = cast(list[str | None], await self.redis.mget(keys))
        except (aioredis.RedisError, OSError) as exc:
            self._warn(exc)
            return [None] * len(keys)
        return [loads(item) if item is not None else None for item in raw]

    async def get(self, key: str) -> Any | None:
        return (await self.get_many([key]))[0]

    async def set_many(self, values: dict[str, Any], ttl: int | None = None) -> None:
        if not values:
            return
        seconds = str(ttl or self.ttl)
        try:
            await self.write(
                [("SET", key, dumps(value), "EX", seconds) for key, value in values.items()]
            )
        except (aioredis.RedisError, OSError) as exc:
            self._warn(exc)

    async def write(self, commands: list[tuple[str, ...]]) -> None:
        """Sends the commands in one round trip; raises what Redis or the connection raised."""
        await send_commands(self.redis, self.pipelined, commands)

    async def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        await self.set_many({key: value}, ttl)

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            await self.redis.delete(*keys)
        except (aioredis.RedisError, OSError) as exc:
            self._warn(exc)

    async def incr(self, key: str) -> int | None:
        try:
            return int(await self.redis.incr(key))
        except (aioredis.RedisError, OSError) as exc:
            self._warn(exc)
            return None
