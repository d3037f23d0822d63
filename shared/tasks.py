"""Supervised background loops: started in a cleanup context, restarted on error, stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)


def reraise_cancellation() -> None:
    """Raises CancelledError again when the running task was asked to stop but goes on.

    In an `except` of a client library's error: the library may turn a cancellation into its
    own error (redis-py raises a connection error when a read is interrupted), and a loop
    that retries on such errors would swallow its own shutdown. And at the top of each turn
    of a background loop, because a cancellation can also vanish: Python 3.11's
    `asyncio.wait_for` returns the result of a call that finished in the same turn as its
    task was cancelled, and redis-py sends every command through it, so a loop would take
    its next turn, and the next, outliving its app.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling() > 0:
        raise asyncio.CancelledError from None


async def pause(seconds: float) -> None:
    """A background loop's wait between its turns, honouring a cancellation that vanished
    during the turn (see `reraise_cancellation`)."""
    reraise_cancellation()
    await asyncio.sleep(seconds)


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """A background loop's wait for `event`, at most `seconds`: True once it is set. As
    `pause`; and not through `asyncio.wait_for`, which could lose this very cancellation."""
    reraise_cancellation()
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return event.is_set()  # set just as the time ran out
    return True


async def stop_task(task: asyncio.Task[None], grace: float = 5.0) -> None:
    """Cancels a background task and waits for it, at most `grace` seconds."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        log.error("background task did not stop in time", extra={"task": task.get_name()})


async def supervise(
    name: str, run: Callable[[], Awaitable[None]], *, max_backoff: float = 10.0
) -> None:
    """Runs `run` until it returns: a crash is logged and `run` restarted after a growing pause."""
    backoff = 0.1
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            reraise_cancellation()
            log.exception("background task failed; restarting", extra={"task": name})
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)


def background_ctx(
    name: str, factory: Callable[[web.Application], Callable[[], Awaitable[None]]]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running `factory(app)()` under `supervise` for the app's lifetime."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(supervise(name, factory(app)), name=name)
        try:
            yield
        finally:
            await stop_task(task)

    return ctx
