"""The outbox and its relay against real PostgreSQL and Redis: what is published, once, in
order, through outages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from devstack.embedded import free_port, start_valkey
from shared.data.redis import create_redis
from shared.events import Event, OutboxRelay, record_event
from shared.events.envelope import stream_name
from shared.transport.redis_pipeline import PipelinedRedis
from tests import redis_text
from tests.factories import running, write_events
from tests.infra import Infra
from tests.waiting import until


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
