"""A Redis that restarts empty loses the entries no consumer had read: the relays publish
the last moments' events again, and consumers, which handle each event once, lose none."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis

from shared.events import Event, OutboxRelay
from shared.events.envelope import stream_name
from tests import redis_text
from tests.factories import write_events


async def _ids(redis: aioredis.Redis) -> list[str]:
    entries = await redis_text.entries(redis, stream_name("test"))
    return [Event.from_fields(fields).id for _, fields in entries]


async def test_events_published_just_before_redis_lost_its_data_are_published_again(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    relay = OutboxRelay(pool, redis, "test", replay_seconds=60)
    assert await relay.check_marker() == 0  # the first look only sets the marker
    await write_events(pool, 3)
    assert await relay.publish_pending() == 3
    published = await _ids(redis)

    await redis.flushdb()  # what an empty restart leaves
    assert await relay.check_marker() == 3
    assert await relay.publish_pending() == 3

    assert await _ids(redis) == published


async def test_nothing_is_published_again_while_redis_keeps_its_data(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    relay = OutboxRelay(pool, redis, "test")
    await relay.check_marker()
    await write_events(pool, 2)
    await relay.publish_pending()

    assert await relay.check_marker() == 0
    assert await relay.publish_pending() == 0
    assert len(await _ids(redis)) == 2


async def test_a_relay_that_starts_after_the_loss_leaves_it_to_those_that_saw_it(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    await write_events(pool, 2)
    await OutboxRelay(pool, redis, "test").publish_pending()
    await redis.flushdb()

    assert await OutboxRelay(pool, redis, "test").check_marker() == 0


async def test_old_events_are_not_published_again(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    relay = OutboxRelay(pool, redis, "test", replay_seconds=60)
    await relay.check_marker()
    await write_events(pool, 2)
    await relay.publish_pending()
    await pool.execute("UPDATE outbox SET published_at = now() - interval '2 minutes'")
    await redis.flushdb()

    assert await relay.check_marker() == 0
