"""The revocation list of access tokens, both sides of it.

auth_service writes a Redis key per revoked token id and announces it on a pub/sub channel;
every gateway keeps a local copy (`Revocations`), so checking a token costs a dictionary
look-up instead of a Redis round trip. The copy is loaded after subscribing (so nothing
announced meanwhile is missed) and loaded again after every reconnection. While Redis is
unreachable the copy answers from what it knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

KEY_PREFIX = "revoked:jti:"
CHANNEL = "revocations"


async def revoke(redis: aioredis.Redis, jti: str, expires_at: float) -> None:
    """Revokes a token until it would have expired anyway."""
    ttl = max(int(expires_at - time.time()) + 5, 1)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(f"{KEY_PREFIX}{jti}", str(int(expires_at)), ex=ttl)
        pipe.publish(CHANNEL, f"{jti} {int(expires_at)}")
        await pipe.execute()


class Revocations:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._revoked: dict[str, float] = {}  # jti -> when the token expires anyway
        self._stopping = False
        self.ready = asyncio.Event()

    def is_revoked(self, jti: str) -> bool:
        expires_at = self._revoked.get(jti)
        if expires_at is None:
            return False
        if expires_at < time.time():
            del self._revoked[jti]
            return False
        return True

    def _add(self, message: str) -> None:
        jti, _, expires = message.partition(" ")
        try:
            self._revoked[jti] = float(expires)
        except ValueError:
            log.warning("malformed revocation message ignored")

    async def _load(self) -> None:
        async for key in self._redis.scan_iter(match=f"{KEY_PREFIX}*", count=1000):
            key = str(key)  # the client decodes responses
            value = await self._redis.get(key)
            if value is not None:
                self._add(key[len(KEY_PREFIX) :] + " " + str(value))
        now = time.time()
        self._revoked = {jti: exp for jti, exp in self._revoked.items() if exp >= now}

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        """Follows the channel until stopped; reconnects (and reloads) after any failure."""
        while not self._stopping:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                await self._load()
                self.ready.set()
                while not self._stopping:
                    message = await pubsub.get_message(timeout=0.25)
                    if message is not None and message.get("type") == "message":
                        self._add(str(message["data"]))
            except (aioredis.RedisError, OSError) as exc:
                log.warning("revocation feed interrupted; retrying", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(aioredis.RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
