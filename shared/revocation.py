"""The revocation list of access tokens: a Redis key per revoked token id, announced on a
pub/sub channel so that every gateway keeps a local copy and checks it without a round trip."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

KEY_PREFIX = "revoked:jti:"
CHANNEL = "revocations"


async def revoke(redis: aioredis.Redis, jti: str, expires_at: float) -> None:
    """Revokes a token until it would have expired anyway."""
    ttl = max(int(expires_at - time.time()) + 5, 1)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(f"{KEY_PREFIX}{jti}", str(int(expires_at)), ex=ttl)
        pipe.publish(CHANNEL, f"{jti} {int(expires_at)}")
        await pipe.execute()
