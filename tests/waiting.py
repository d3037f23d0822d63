"""Polling for a condition that background work makes true, with a deadline."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def until(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0, every: float = 0.02
) -> None:
    """Returns once `check()` is true; fails the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        await asyncio.sleep(every)
