"""shared/tasks.py: background loops stop when cancelled, even where a library lost the
cancellation or turned it into its own error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from shared.tasks import pause, supervise, wait_set


async def _cancelled_during_a_command(redis: aioredis.Redis) -> None:
    """The task is cancelled as it sends a command: redis-py (through Python 3.11's
    asyncio.wait_for) returns the reply and the cancellation is lost."""
    task = asyncio.current_task()
    assert task is not None
    assert await redis.ping()  # connected: the next command is sent at once
    asyncio.get_running_loop().call_soon(task.cancel)
    assert await redis.ping()
    assert task.cancelling()  # asked to stop, and nothing raised


@pytest.mark.parametrize(
    "wait",
    [lambda: pause(0.01), lambda: wait_set(asyncio.Event(), 0.01)],
    ids=["pause", "wait_set"],
)
async def test_a_loop_that_lost_its_cancellation_stops_at_its_next_wait(
    redis: aioredis.Redis, wait: Callable[[], Awaitable[object]]
) -> None:
    turns = 0

    async def loop() -> None:
        nonlocal turns
        while turns < 3:  # one that went on would end by itself after three turns
            turns += 1
            if turns == 1:
                await _cancelled_during_a_command(redis)
            await wait()

    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await asyncio.create_task(loop())
    assert turns == 1


async def test_wait_set_answers_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert not await wait_set(event, 0.01)
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_set(event, 5)


async def test_supervise_restarts_a_failed_run_but_not_a_cancelled_one() -> None:
    runs = 0
    restarted = asyncio.Event()

    async def run() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("a defect")  # logged, then run again
        restarted.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if runs == 2:
                # As redis-py does with a command interrupted by a cancellation.
                raise aioredis.ConnectionError("interrupted") from None
            raise

    task = asyncio.create_task(supervise("test", run))
    async with asyncio.timeout(5):
        await restarted.wait()
    task.cancel()
    await asyncio.wait({task}, timeout=1)  # restarted instead, it would wait for ever

    assert task.cancelled()
    assert runs == 2
