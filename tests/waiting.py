"""Polling for a condition that background work makes true, with a deadline."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def until(
    check: Callable[[], Awaitable[T | None]], timeout: float = ..., every: float = ...
) -> T: ...


@overload
async def until(check: Callable[[], T | None], timeout: float = ..., every: float = ...) -> T: ...


async def until(check: Callable[[], Any], timeout: float = 10.0, every: float = 0.02) -> Any:
    """The first truthy answer of `check()`; fails the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answer = check()
        if inspect.isawaitable(answer):
            answer = await answer
        if answer:
            return answer
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        await asyncio.sleep(every)
