"""Password hashing (argon2id) on threads of its own, a bounded number at a time.

A hash costs tens of milliseconds of a core and releases the GIL, so it runs on threads
beside the event loop. Their number is capped below the machine's cores (one core is left to
the event loops, so reads keep their latency while many people sign in) and so is the queue
in front of them: past it a sign-in answers 503 with `Retry-After` at once instead of
waiting in a line that only grows.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.web.errors import ServiceUnavailable

T = TypeVar("T")


def default_workers() -> int:
    """Every core but one, and at least one."""
    return max(1, (os.cpu_count() or 1) - 1)


class Hashing:
    def __init__(self, time_cost: int, memory_kib: int, workers: int, queue: int) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="argon2")
        self._room = asyncio.Semaphore(workers + queue)  # running and waiting

    async def _run(self, work: Callable[[], T]) -> T:
        if self._room.locked():
            raise ServiceUnavailable(
                "too many sign-ins at once; try again in a moment", headers={"Retry-After": "1"}
            )
        async with self._room:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def hash(self, password: str) -> str:
        return await self._run(lambda: self.hasher.hash(password))

    async def matches(self, password_hash: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return self.hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await self._run(verify)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
