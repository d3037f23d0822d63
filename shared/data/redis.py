"""The Redis client of a service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web

from shared.keys import REDIS, REDIS_READS, SETTINGS
from shared.transport.redis_pipeline import RedisReads


def create_redis(url: str) -> aioredis.Redis:
    # Short timeouts: Redis is a cache and a channel, and an outage must degrade a request to
    # the database within a second, not hang it.
    client: aioredis.Redis = aioredis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        health_check_interval=30,
        max_connections=200,
    )
    return client


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].redis_url.get()
    client = create_redis(url)
    await client.ping()
    app[REDIS] = client
    # The pipelined reads speak plain TCP or a Unix socket; over TLS, redis-py does it all.
    reads = None if url.startswith("rediss://") else RedisReads(url)
    if reads is not None:
        app[REDIS_READS] = reads
    try:
        yield
    finally:
        if reads is not None:
            await reads.close()
        await client.aclose()
