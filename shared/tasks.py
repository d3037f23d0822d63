"""Supervised background loops: started in a cleanup context, restarted on error, awaited on stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)


async def supervise(
    name: str, run: Callable[[], Awaitable[None]], *, max_backoff: float = 10.0
) -> None:
    """Runs `run` forever: a crash is logged and the loop restarted after a growing pause."""
    backoff = 0.1
    while True:
        try:
            await run()
            backoff = 0.1
        except asyncio.CancelledError:
            raise
        except Exception:
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
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return ctx
