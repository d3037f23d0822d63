"""Supervised background loops: started in a cleanup context, restarted on error, stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)


def cancel_requested() -> bool:
    """True once the running task was asked to stop.

    A client library may turn a cancellation into its own error (redis-py raises a connection
    error when a read is interrupted); loops that retry on such errors check this first, or
    they would swallow their own shutdown.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def reraise_cancellation() -> None:
    """In an `except` of a client library's error: raises CancelledError again when the
    running task was asked to stop (the library's error is its word for the interruption)."""
    if cancel_requested():
        raise asyncio.CancelledError from None


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
