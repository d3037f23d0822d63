"""A consumer that handles events at once by lane: in order within a lane, a barrier alone."""

from __future__ import annotations

import asyncio

import asyncpg
import redis.asyncio as aioredis

from shared.events import Event, EventConsumer
from shared.events.envelope import stream_name


def _event(number: int, lane: str) -> dict[str, str]:
    return Event(
        id=f"00000000-0000-0000-0000-{number:012d}",
        type="dish.cooked",
        occurred_at="2026-12-07T00:00:00+00:00",
        producer="test",
        version=1,
        data={"number": number, "lane": lane},
    ).to_fields()


async def test_events_of_one_lane_keep_their_order_and_a_barrier_waits_for_the_rest(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    lanes = ["a", "b", "a", "*", "b", "a"]
    for number, lane in enumerate(lanes):
        await redis.xadd(stream_name("test"), _event(number, lane))  # type: ignore[arg-type]
    order: list[int] = []
    running = 0
    most = 0

    async def handler(connection: asyncpg.Connection, event: Event) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        # The first "a" is slow: a lane that did not wait would overtake it.
        await asyncio.sleep(0.2 if event.data["number"] == 0 else 0.01)
        order.append(event.data["number"])
        running -= 1

    consumer = EventConsumer(
        pool,
        redis,
        "lanes",
        ["test"],
        {"dish.cooked": handler},
        concurrency=4,
        partition=lambda event: None if event.data["lane"] == "*" else event.data["lane"],
    )
    await consumer.ensure_groups()
    assert await consumer.read_new() == 6

    assert order.index(0) < order.index(2)  # lane a in order
    assert set(order[:3]) == {0, 1, 2}  # everything before the barrier, then it alone
    assert order[3] == 3
    assert order.index(4) < 6 and order.index(5) < 6
    assert most == 2  # two lanes at once
    assert await redis.xpending(stream_name("test"), "lanes") == {
        "pending": 0,
        "min": None,
        "max": None,
        "consumers": [],
    }
