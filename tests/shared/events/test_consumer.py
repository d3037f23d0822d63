"""Consumer groups against real PostgreSQL and Redis: each event handled once per service,
reclaimed from dead replicas, retried, dead-lettered."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import redis.asyncio as aioredis

from shared.events import Event, EventConsumer, OutboxRelay
from shared.events.envelope import dead_letter_stream, stream_name
from shared.web.middleware import Metrics
from tests import redis_text
from tests.factories import consumer, effect_handler, running, write_events
from tests.waiting import until


async def test_two_replicas_share_the_stream_and_handle_each_event_once(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    await write_events(pool, 60)
    await OutboxRelay(pool, redis, "test").publish_pending()
    replicas = [consumer(pool, redis, name, batch_size=5) for name in ("one", "two")]
    async with running(*replicas):
        await until(lambda: _effects(pool, 60))
    rows = await pool.fetch("SELECT handled_by, count(*) AS n FROM effects GROUP BY handled_by")
    shares = {row["handled_by"]: row["n"] for row in rows}
    assert sum(shares.values()) == 60
    assert shares.get("one", 0) > 0 and shares.get("two", 0) > 0
    assert await pool.fetchval("SELECT count(DISTINCT event_id) FROM effects") == 60


async def _effects(pool: asyncpg.Pool, wanted: int) -> bool:
    return int(await pool.fetchval("SELECT count(*) FROM effects")) >= wanted


async def test_an_event_read_by_a_dead_replica_is_reclaimed_by_another(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    await write_events(pool, 1)
    await OutboxRelay(pool, redis, "test").publish_pending()
    survivor = consumer(pool, redis, "survivor", claim_idle_ms=200)
    await survivor.ensure_groups()
    # The replica that dies reads the event and never acknowledges it.
    read = await redis_text.read_group(redis, "kitchen", "doomed", stream_name("test"))
    assert len(read) == 1
    async with running(survivor):
        await until(lambda: _effects(pool, 1))
        await until(lambda: _no_pending(redis))
    assert await pool.fetchval("SELECT handled_by FROM effects") == "survivor"


async def _no_pending(redis: aioredis.Redis) -> bool:
    summary = await redis.xpending(stream_name("test"), "kitchen")
    return int(summary["pending"]) == 0


async def test_a_redelivered_event_is_not_applied_twice(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    await write_events(pool, 1)
    await OutboxRelay(pool, redis, "test").publish_pending()
    entry_id, fields = (await redis_text.entries(redis, stream_name("test")))[0]
    replica = consumer(pool, redis, "one")
    assert await replica.handle(stream_name("test"), entry_id, fields)
    assert await replica.handle(stream_name("test"), entry_id, fields)
    assert await pool.fetchval("SELECT count(*) FROM effects") == 1


async def test_a_failing_event_is_retried_until_it_succeeds(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    attempts = 0

    async def flaky(connection: asyncpg.Connection, event: Event) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("downstream hiccup")
        await effect_handler("flaky")(connection, event)

    await write_events(pool, 1)
    await OutboxRelay(pool, redis, "test").publish_pending()
    replica = consumer(
        pool, redis, "one", handlers={"dish.cooked": flaky}, retry_delay_ms=20, max_attempts=5
    )
    async with running(replica):
        await until(lambda: _effects(pool, 1))
        await until(lambda: _no_pending(redis))
    assert attempts == 3
    assert await redis.xlen(dead_letter_stream(stream_name("test"))) == 0


async def test_a_poison_event_lands_in_the_dead_letter_stream(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    async def poison(connection: asyncpg.Connection, event: Event) -> None:
        raise ValueError("cannot digest this")

    await write_events(pool, 1)
    await OutboxRelay(pool, redis, "test").publish_pending()
    metrics = Metrics("kitchen")
    replica = EventConsumer(
        pool,
        redis,
        "kitchen",
        ["test"],
        {"dish.cooked": poison},
        metrics,
        consumer_name="one",
        block_ms=50,
        retry_delay_ms=10,
        max_attempts=3,
    )
    dead = dead_letter_stream(stream_name("test"))
    async with running(replica):
        await until(lambda: _stream_has(redis, dead))
    entry = (await redis_text.entries(redis, dead))[0][1]
    assert entry["type"] == "dish.cooked" and entry["group"] == "kitchen"
    assert await _no_pending(redis)
    assert "events_dead_lettered_total" in metrics.render().decode()


async def _stream_has(redis: aioredis.Redis, stream: str) -> bool:
    return int(await redis.xlen(stream)) > 0


async def test_a_malformed_entry_is_dead_lettered_not_retried(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    replica = consumer(pool, redis, "one")
    await replica.ensure_groups()
    await redis.xadd(stream_name("test"), {"type": "dish.cooked", "data": "{not json"})
    assert await replica.read_new() == 1
    assert await redis.xlen(dead_letter_stream(stream_name("test"))) == 1
    assert await _no_pending(redis)


async def test_a_consumer_stops_when_its_cancellation_lands_on_a_redis_command(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    # The app stops just as a handler sends a Redis command: Python 3.11's asyncio.wait_for,
    # which redis-py sends every command through, loses such a cancellation and the command
    # returns as if nothing happened.
    handled: list[str] = []

    async def handler(connection: asyncpg.Connection, event: Event) -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().call_soon(task.cancel)
        await redis.ping()
        handled.append(event.id)

    await write_events(pool, 1)
    await OutboxRelay(pool, redis, "test").publish_pending()
    replica = consumer(pool, redis, "one", handlers={"dish.cooked": handler})
    task = asyncio.create_task(replica.run())

    # It ends at its next turn, cancelled, instead of reading on until its app's loop closes.
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await task
    assert len(handled) == 1
