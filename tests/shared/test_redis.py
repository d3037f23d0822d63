"""The services' Redis client: deadlines that fit each command, and the breaker they feed."""

from __future__ import annotations

import redis.asyncio as aioredis

from shared.data.redis import COMMAND_TIMEOUT, GuardedRedis


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
    answer = await redis.blpop(["empty-queue"], timeout=COMMAND_TIMEOUT + 0.5)  # type: ignore[misc]
    assert answer is None
    assert not redis.breaker.is_open()
