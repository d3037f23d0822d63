"""The event channel against real PostgreSQL and Redis: outbox, relay, consumer groups."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from devstack.embedded import free_port, start_valkey
from shared.data.postgres import init_connection
from shared.data.redis import create_redis
from shared.events import Event, EventConsumer, OutboxRelay, record_event
from shared.events.envelope import dead_letter_stream, stream_name
from shared.events.outbox import install_event_tables
from shared.transport.redis_pipeline import PipelinedRedis
from shared.web.middleware import Metrics
from tests import redis_text
from tests.infra import Infra
from tests.waiting import until

SCHEMA = "evtest"


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    """A schema of its own with the event tables and a table of handler effects."""
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    await install_event_tables(admin, SCHEMA)
    await admin.execute(f"CREATE TABLE {SCHEMA}.effects (event_id uuid, handled_by text)")
    pool = await asyncpg.create_pool(
        infra.database_url,
        min_size=1,
        max_size=8,
        init=init_connection,
        server_settings={"search_path": SCHEMA},
    )
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
        await admin.close()


async def write_events(pool: asyncpg.Pool, count: int, event_type: str = "dish.cooked") -> None:
    async with pool.acquire() as connection, connection.transaction():
        for number in range(count):
            await record_event(connection, event_type, {"number": number})


def effect_handler(name: str) -> Callable[[asyncpg.Connection, Event], Awaitable[None]]:
    async def handle(connection: asyncpg.Connection, event: Event) -> None:
        await connection.execute(
            "INSERT INTO effects (event_id, handled_by) VALUES ($1, $2)", event.id, name
        )

    return handle


def consumer(pool: asyncpg.Pool, redis: aioredis.Redis, name: str, **options: Any) -> EventConsumer:
    handlers = options.pop("handlers", None) or {"dish.cooked": effect_handler(name)}
    return EventConsumer(
        pool,
        redis,
        "kitchen",
        ["test"],
        handlers,
        Metrics("kitchen"),
        consumer_name=name,
        block_ms=50,
        **options,
    )


@contextlib.asynccontextmanager
async def running(*workers: OutboxRelay | EventConsumer) -> AsyncIterator[None]:
    """Runs the workers' loops; consumers end as a service ends them (their stop flag, then
    the current read), the relay, which has none, is cancelled."""
    tasks = [asyncio.ensure_future(worker.run()) for worker in workers]
    try:
        yield
    finally:
        for worker, task in zip(workers, tasks, strict=True):
            if isinstance(worker, EventConsumer):
                worker.stop()
            else:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_an_event_in_a_rolled_back_transaction_is_never_published(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await record_event(connection, "dish.cooked", {"number": 1})
        await transaction.rollback()
    relay = OutboxRelay(pool, redis, "test")
    assert await relay.publish_pending() == 0
    assert await redis.xlen(stream_name("test")) == 0


async def test_published_events_carry_the_envelope_and_leave_the_pending_list(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    await write_events(pool, 3)
    relay = OutboxRelay(pool, redis, "test")
    assert await relay.publish_pending() == 3
    assert await relay.publish_pending() == 0
    entries = await redis_text.entries(redis, stream_name("test"))
    event = Event.from_fields(entries[0][1])
    assert (event.type, event.producer, event.version, event.data) == (
        "dish.cooked",
        "test",
        1,
        {"number": 0},
    )
    assert len(event.id) == 36 and event.occurred_at


async def test_two_relays_never_publish_a_row_twice(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    await write_events(pool, 200)
    relays = [OutboxRelay(pool, redis, "test", batch_size=20) for _ in range(2)]

    async def drain(relay: OutboxRelay) -> int:
        total = 0
        while published := await relay.publish_pending():
            total += published
        return total

    counts = await asyncio.gather(*(drain(r) for r in relays))
    assert sum(counts) == 200
    assert await redis.xlen(stream_name("test")) == 200


async def test_events_go_out_in_the_order_they_were_recorded_batch_after_batch(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    for _ in range(5):
        await write_events(pool, 5)
    relay = OutboxRelay(pool, redis, "test", batch_size=7)
    assert [await relay.publish_pending() for _ in range(5)] == [7, 7, 7, 4, 0]
    entries = await redis_text.entries(redis, stream_name("test"))
    numbers = [Event.from_fields(fields).data["number"] for _, fields in entries]
    assert numbers == [number for _ in range(5) for number in range(5)]


async def _silent_server(received: asyncio.Event) -> asyncio.Server:
    """Accepts connections and reads what comes, never answering: a Redis that hangs."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            received.set()
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


async def test_a_relay_stopped_between_claiming_and_publishing_loses_no_event(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    await write_events(pool, 3)
    received = asyncio.Event()
    server = await _silent_server(received)
    port = server.sockets[0].getsockname()[1]
    hanging = create_redis(f"redis://127.0.0.1:{port}/0")
    try:
        task = asyncio.ensure_future(OutboxRelay(pool, hanging, "test").publish_pending())
        await asyncio.wait_for(received.wait(), timeout=5)  # claimed, the XADDs sent
        # The claim commits only with the publication: to everyone else the rows still wait.
        pending = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        assert pending == 3
        task.cancel()  # the relay dies here
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await hanging.aclose()
        server.close()
    assert await OutboxRelay(pool, redis, "test").publish_pending() == 3
    entries = await redis_text.entries(redis, stream_name("test"))
    assert [Event.from_fields(fields).data["number"] for _, fields in entries] == [0, 1, 2]


async def test_a_batch_that_redis_refuses_stays_pending_whole(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    await write_events(pool, 4)
    unreachable = create_redis("redis://127.0.0.1:1/0")
    try:
        with pytest.raises((OSError, aioredis.RedisError)):
            await OutboxRelay(pool, unreachable, "test").publish_pending()
    finally:
        await unreachable.aclose()
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 4
    assert await OutboxRelay(pool, redis, "test").publish_pending() == 4


async def test_an_event_survives_a_redis_outage_and_is_delivered_once(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    port = free_port()
    server, url = start_valkey(tmp_path / "valkey", port=port, persist=False)
    client = create_redis(url)
    relay = OutboxRelay(pool, client, "test", poll_interval=0.05)
    try:
        server.stop()
        await write_events(pool, 1)
        async with running(relay):
            await asyncio.sleep(0.5)  # the relay fails and waits while Redis is down
            server, url = start_valkey(tmp_path / "valkey", port=port, persist=False)
            await until(lambda: _stream_length(client, 1))
            await asyncio.sleep(0.3)
            assert await client.xlen(stream_name("test")) == 1
        pending = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        assert pending == 0
    finally:
        await client.aclose()
        server.stop()


async def _stream_length(client: aioredis.Redis, wanted: int) -> bool:
    try:
        return int(await client.xlen(stream_name("test"))) >= wanted
    except aioredis.RedisError:
        return False


async def test_published_rows_are_pruned_after_retention(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    await write_events(pool, 2)
    relay = OutboxRelay(pool, redis, "test", retention_seconds=0)
    await relay.publish_pending()
    await write_events(pool, 1)  # still pending: never pruned
    assert await relay.prune() == 2
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


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


async def test_over_the_pipelined_connection_a_batch_goes_out_in_order_or_stays_pending(
    pool: asyncpg.Pool, redis: aioredis.Redis, infra: Infra
) -> None:
    await write_events(pool, 5)
    unreachable = PipelinedRedis("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(OSError):
            await OutboxRelay(pool, redis, "test", pipelined=unreachable).publish_pending()
    finally:
        await unreachable.close()
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 5
    pipelined = PipelinedRedis(infra.redis_url)
    try:
        relay = OutboxRelay(pool, redis, "test", batch_size=3, pipelined=pipelined)
        assert [await relay.publish_pending() for _ in range(3)] == [3, 2, 0]
    finally:
        await pipelined.close()
    entries = await redis_text.entries(redis, stream_name("test"))
    events = [Event.from_fields(fields) for _, fields in entries]
    assert [event.data["number"] for event in events] == [0, 1, 2, 3, 4]
    assert {(event.type, event.producer, event.version) for event in events} == {
        ("dish.cooked", "test", 1)
    }
