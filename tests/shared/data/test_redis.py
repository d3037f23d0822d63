"""The services' Redis client: deadlines that fit each command, and the breaker they feed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from shared.data.redis import COMMAND_TIMEOUT, CircuitBreaker, GuardedRedis, create_redis
from shared.transport.redis_pipeline import PipelinedRedis
from tests.infra import Infra


async def test_a_blocking_stream_read_may_wait_its_whole_block_time(
    redis: aioredis.Redis,
) -> None:
    # A consumer's XREADGROUP BLOCK waits longer than a command's deadline when nothing
    # comes: that wait is the answer "nothing new", not a stalled server.
    assert isinstance(redis, GuardedRedis)
    await redis.xgroup_create("orders", "kitchen", id="$", mkstream=True)
    block_ms = int(COMMAND_TIMEOUT * 1000) + 500
    answer = await redis.xreadgroup("kitchen", "cook-1", {"orders": ">"}, block=block_ms)
    assert not answer
    assert not redis.breaker.is_open()
    assert await redis.ping()


async def test_a_blocking_list_pop_may_wait_its_whole_timeout(redis: aioredis.Redis) -> None:
    assert isinstance(redis, GuardedRedis)
    answer = await redis.blpop(["empty-queue"], timeout=COMMAND_TIMEOUT + 0.5)
    assert answer is None
    assert not redis.breaker.is_open()


async def blpop(client: aioredis.Redis) -> Any:
    return await client.blpop(["empty-queue"], timeout=5)


def tripped() -> CircuitBreaker:
    """A breaker that has just seen a failure and lets the next call probe at once."""
    breaker = CircuitBreaker(open_for=0)
    breaker.failed()
    return breaker


async def test_an_error_reply_to_the_probe_closes_the_breaker(infra: Infra) -> None:
    breaker = tripped()
    client = create_redis(infra.redis_url, breaker)
    try:
        await client.set("dish", "soup")
        # SET's probe closed the breaker; trip it again so that the error reply probes.
        breaker.failed()
        with pytest.raises(ResponseError):
            await client.incr("dish")  # WRONGTYPE-like: not an integer
        assert not breaker.is_open()
        assert await client.get("dish") == "soup"
    finally:
        await client.aclose()


async def test_a_cancelled_probe_lets_the_next_call_probe(infra: Infra) -> None:
    breaker = tripped()
    client = create_redis(infra.redis_url, breaker)
    try:
        probe: asyncio.Task[Any] = asyncio.create_task(blpop(client))
        await asyncio.sleep(0.1)  # the probe is waiting on the server
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        assert await client.ping()
        assert not breaker.is_open()
    finally:
        await client.aclose()


async def test_a_cancelled_pipelined_read_lets_the_next_call_probe(infra: Infra) -> None:
    breaker = tripped()
    reads = PipelinedRedis(infra.redis_url, breaker=breaker)
    try:
        probe = asyncio.create_task(reads.get("dish"))
        await asyncio.sleep(0)  # let it start
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        assert await reads.get("dish") is None
        assert not breaker.is_open()
    finally:
        await reads.close()
