"""A consumer's entries handled by lane while it goes on reading (shared/events/consumer.py).

The entries of one lane (one key) are handled one after another in the order they were read,
those of different lanes at once (up to `concurrency` lanes), and an entry without a key is a
barrier: it waits for everything taken before it and runs alone. Unlike handling a read batch
and only then reading the next, an entry read while others are still being handled starts as
soon as its lane and a slot are free: a slow lane holds up its own entries only, not the
batch that came after it. At most `limit` entries are held at once (the reader waits for room).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from shared.tasks import reraise_cancellation

log = logging.getLogger(__name__)

Entry = tuple[str, str, dict[str, str]]  # stream, entry id, fields


class Lanes:
    def __init__(
        self, handle: Callable[[Entry], Awaitable[None]], concurrency: int, limit: int
    ) -> None:
        self.handle = handle
        self.limit = limit
        self._slots = asyncio.Semaphore(concurrency)
        self._queues: dict[str, deque[Entry]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: set[str] = set()
        self._room = asyncio.Event()
        self._room.set()

    def holds(self, entry_id: str) -> bool:
        """Whether the entry is taken here and not done with yet (so not to be reclaimed)."""
        return entry_id in self._held

    def room(self) -> int:
        return max(0, self.limit - len(self._held))

    async def wait_for_room(self) -> None:
        while not self.room():
            self._room.clear()
            await self._room.wait()

    def hold(self, entry_ids: Iterable[str]) -> None:
        """Counts entries as taken before they are added (a barrier may hold up the rest)."""
        self._held.update(entry_ids)

    async def add(self, key: str | None, entry: Entry) -> None:
        """Takes an entry; returns at once, but for a barrier once it was handled."""
        if key is None:
            await self.drain()
            self._take(entry)
            try:
                await self.handle(entry)
            finally:
                self._done(entry)
            return
        self._take(entry)
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(entry)  # its lane's task takes it after the ones before it
            return
        self._queues[key] = deque([entry])
        task = asyncio.create_task(self._lane(key), name=f"lane:{key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Returns once every entry taken so far was handled."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stops every lane and waits for them; what they held stays pending in the stream,
        for a retry."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _lane(self, key: str) -> None:
        queue = self._queues[key]
        try:
            async with self._slots:
                while queue:
                    entry = queue[0]
                    try:
                        await self.handle(entry)
                    except Exception:
                        reraise_cancellation()  # a client's word for an interrupted call
                        # Left pending in the stream: the consumer's retries take it again.
                        log.exception("event lane failed", extra={"entry": entry[1]})
                    finally:
                        queue.popleft()
                        self._done(entry)
        finally:
            del self._queues[key]
            for entry in queue:  # cancelled: left pending too
                self._done(entry)

    def _take(self, entry: Entry) -> None:
        self._held.add(entry[1])

    def _done(self, entry: Entry) -> None:
        self._held.discard(entry[1])
        if self.room():
            self._room.set()
