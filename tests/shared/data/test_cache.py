"""The JSON cache over redis-py and over the pipelined connection: same answers, and a failure
is a miss, never an error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from shared.data.cache import JsonCache
from shared.data.redis import create_redis
from shared.transport.redis_pipeline import CircuitBreaker, PipelinedRedis
from tests.infra import Infra


@pytest.fixture(params=["redis-py", "pipelined"])
async def cache(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[JsonCache]:
    client = create_redis(infra.redis_url)
    pipelined = PipelinedRedis(infra.redis_url) if request.param == "pipelined" else None
    try:
        yield JsonCache(client, 60, pipelined)
    finally:
        if pipelined is not None:
            await pipelined.close()
        await client.aclose()


async def test_values_set_together_are_read_back_with_their_ttl(
    cache: JsonCache, redis: aioredis.Redis
) -> None:
    await cache.set_many({"a": {"n": 1}, "b": ["x", "ÿ"]}, ttl=30)
    assert await cache.get_many(["a", "missing", "b"]) == [{"n": 1}, None, ["x", "ÿ"]]
    assert 0 < await redis.ttl("a") <= 30
    await cache.set("c", "plain")
    assert 30 < await redis.ttl("c") <= 60  # the cache's own TTL


async def test_write_sends_every_command_and_raises_an_error_reply(
    cache: JsonCache, redis: aioredis.Redis
) -> None:
    await cache.write([("SET", "v", "1"), ("INCR", "v"), ("DEL", "gone", "v2")])
    assert await redis.get("v") == "2"
    with pytest.raises(ResponseError):
        await cache.write([("INCR", "counter"), ("INCR", "v", "extra")])
    assert await redis.get("counter") == "1"


async def test_an_unreachable_redis_is_a_miss_for_reads_and_writes() -> None:
    breaker = CircuitBreaker()
    client = create_redis("redis://127.0.0.1:1/0", breaker)
    pipelined = PipelinedRedis("redis://127.0.0.1:1/0", breaker=breaker)
    try:
        for cache in (JsonCache(client, 60), JsonCache(client, 60, pipelined)):
            await cache.set_many({"a": 1})
            assert await cache.get_many(["a"]) == [None]
    finally:
        await pipelined.close()
        await client.aclose()
