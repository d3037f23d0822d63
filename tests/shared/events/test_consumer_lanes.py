"""A consumer that handles events at once by lane: in order within a lane, a barrier alone."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from shared.events import Event, EventConsumer
from shared.events.consumer import Handler, MarksHandled
from shared.events.envelope import dead_letter_stream, stream_name
from tests import redis_text


def _event(number: int, lane: str) -> dict[str, str]:
    return Event(
        id=f"00000000-0000-0000-0000-{number:012d}",
        type="dish.cooked",
        occurred_at="2026-12-07T00:00:00+00:00",
        producer="test",
        version=1,
        data={"number": number, "lane": lane},
    ).to_fields()


def _by_lane(
    pool: asyncpg.Pool, redis: aioredis.Redis, handler: Handler | MarksHandled, **options: Any
) -> EventConsumer:
    """A consumer of the test stream, four lanes at once, an event's lane from its data."""
    return EventConsumer(
        pool,
        redis,
        "lanes",
        ["test"],
        {"dish.cooked": handler},
        concurrency=4,
        partition=options.pop("partition", lambda event: event.data["lane"]),
        **options,
    )


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

    consumer = _by_lane(
        pool,
        redis,
        handler,
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


async def test_an_event_read_while_another_lane_is_busy_is_handled_without_waiting_for_it(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    started: dict[int, int] = {}
    slow_started, fast_done, release = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def handler(connection: asyncpg.Connection, event: Event) -> None:
        number = event.data["number"]
        started[number] = started.get(number, 0) + 1
        if number == 0:
            slow_started.set()
            await release.wait()
        else:
            fast_done.set()

    consumer = _by_lane(
        pool,
        redis,
        handler,
        # Every pending entry is due for a retry at once: the busy one must not be taken
        # again while it waits in its lane.
        block_ms=20,
        retry_delay_ms=1,
        claim_idle_ms=1,
    )
    running = asyncio.create_task(consumer.run())
    try:
        await redis.xadd(stream_name("test"), _event(0, "a"))  # type: ignore[arg-type]
        async with asyncio.timeout(10):
            await slow_started.wait()
        await redis.xadd(stream_name("test"), _event(1, "b"))  # type: ignore[arg-type]
        async with asyncio.timeout(10):
            await fast_done.wait()
        assert not release.is_set()  # "a" still busy: "b" did not wait for it
        await asyncio.sleep(0.2)  # rounds of retries while "a" is busy
        release.set()
    finally:
        consumer.stop()
        async with asyncio.timeout(10):
            await running

    assert started == {0: 1, 1: 1}
    assert (await redis.xpending(stream_name("test"), "lanes"))["pending"] == 0


async def test_a_handler_that_marks_its_event_runs_outside_a_transaction_and_is_trusted(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    in_transaction: list[bool] = []

    async def handler(connection: asyncpg.Connection, event: Event) -> None:
        in_transaction.append(connection.is_in_transaction())

    await redis.xadd(stream_name("test"), _event(0, "a"))  # type: ignore[arg-type]
    consumer = _by_lane(pool, redis, MarksHandled(handler))
    await consumer.ensure_groups()
    assert await consumer.read_new() == 1

    assert in_transaction == [False]
    # The consumer recorded nothing itself: the handler's statement does.
    assert await pool.fetchval("SELECT count(*) FROM processed_events") == 0
    assert (await redis.xpending(stream_name("test"), "lanes"))["pending"] == 0


async def test_events_no_handler_wants_are_acknowledged_in_passing(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    for number in range(3):
        fields = {**_event(number, "a"), "type": "dish.eaten"}
        await redis.xadd(stream_name("test"), fields)  # type: ignore[arg-type]
    consumer = _by_lane(pool, redis, MarksHandled(lambda connection, event: asyncio.sleep(0)))
    await consumer.ensure_groups()

    assert await consumer.read_new() == 3
    assert (await redis.xpending(stream_name("test"), "lanes"))["pending"] == 0


async def test_a_lane_stops_when_cancelled_even_if_its_handler_turns_that_into_an_error(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    # As redis-py does with a command interrupted by a cancellation: a connection error.
    handled: list[int] = []
    busy = asyncio.Event()

    async def handler(connection: asyncpg.Connection, event: Event) -> None:
        if event.data["number"] == 0:
            busy.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                raise aioredis.ConnectionError("interrupted") from None
        handled.append(event.data["number"])

    consumer = _by_lane(pool, redis, handler, block_ms=20)
    for number in (0, 1):
        await redis.xadd(stream_name("test"), _event(number, "a"))  # type: ignore[arg-type]
    running = asyncio.create_task(consumer.run())
    async with asyncio.timeout(10):
        await busy.wait()

    running.cancel()  # the app stops and the consumer with it
    with contextlib.suppress(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await running
    await asyncio.sleep(0.1)  # a lane that outlived its consumer would go on now

    # The lane ended there: the next event of its lane was not taken, both stay pending.
    assert handled == []
    assert (await redis.xpending(stream_name("test"), "lanes"))["pending"] == 2


async def test_a_failing_event_holds_its_lane_until_it_succeeds_and_others_go_on(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    for number, lane in enumerate(["a", "a", "b"]):
        await redis.xadd(stream_name("test"), _event(number, lane))  # type: ignore[arg-type]
    order: list[int] = []
    failures = 0

    async def handler(connection: asyncpg.Connection, event: Event) -> None:
        nonlocal failures
        number = event.data["number"]
        if number == 0 and failures < 2:
            failures += 1
            raise RuntimeError("the database hiccuped")
        order.append(number)

    consumer = _by_lane(pool, redis, handler, retry_delay_ms=50, max_attempts=3)
    await consumer.ensure_groups()
    assert await consumer.read_new() == 3

    # Lane a in its order once 0 succeeded on its third attempt; lane b did not wait for it.
    assert order == [2, 0, 1]
    assert (await redis.xpending(stream_name("test"), "lanes"))["pending"] == 0


async def test_an_event_that_keeps_failing_in_its_lane_is_dead_lettered_and_the_lane_goes_on(
    pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    for number in (0, 1):
        await redis.xadd(stream_name("test"), _event(number, "a"))  # type: ignore[arg-type]
    attempts: dict[int, int] = {}

    async def handler(connection: asyncpg.Connection, event: Event) -> None:
        number = event.data["number"]
        attempts[number] = attempts.get(number, 0) + 1
        if number == 0:
            raise RuntimeError("a defect this event meets every time")

    consumer = _by_lane(pool, redis, handler, retry_delay_ms=10, max_attempts=3)
    await consumer.ensure_groups()
    assert await consumer.read_new() == 2

    assert attempts == {0: 3, 1: 1}
    dead = await redis_text.entries(redis, dead_letter_stream(stream_name("test")))
    assert [fields["reason"] for _, fields in dead] == ["failed 3 times"]
    assert (await redis.xpending(stream_name("test"), "lanes"))["pending"] == 0
