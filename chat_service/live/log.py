"""The event log as one replica reads it: the recorded events (migration 005) that pub/sub
did not bring, delivered late rather than never, each once.

Every recorded event travels with its id in the log. The replica remembers the ids it
delivered for `SEEN_FOR` seconds (far beyond a publish's deadline) and, every
`gap_check_interval` and as soon as its subscription is back, reads the log after its
position: an event older than `settle` seconds (the ordering's `gap_wait`) that it has not
heard live was lost on the way (the publishing replica could not reach Redis, or this
replica's subscription was broken), and is delivered now, in the log's order. Each event is
one short statement of its own, so every id below one that is `settle` old is committed and
the position never passes an event still to come.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from chat_service.live.wire import Logged, Wire, WireMessage
from chat_service.queries import live_events as q_live_events

SEEN_FOR = 120.0  # seconds an id heard live is remembered
READ_PAGE = 500
RETENTION = 3600.0  # seconds an event stays in the log (a replica reads seconds back)


class EventLog:
    def __init__(self, pool: asyncpg.Pool, wire: Wire, *, settle: float) -> None:
        self.pool = pool
        self.wire = wire
        self.settle = settle
        self.position: int | None = None
        self.seen: dict[int, float] = {}
        self._reading = asyncio.Lock()

    def first_time(self, event_id: int) -> bool:
        """Whether the event is new here; it is not any more."""
        if event_id in self.seen:
            return False
        self.seen[event_id] = time.monotonic()
        return True

    async def missed(self) -> list[tuple[int, WireMessage]]:
        """The events of the log this replica has not delivered yet and no longer expects
        from pub/sub, in order, each with its id; none on the first call, which finds where
        the log stands."""
        async with self._reading, self.pool.acquire() as connection:
            if self.position is None:
                self.position = await q_live_events.settled_position(connection, self.settle)
                return []
            found: list[tuple[int, WireMessage]] = []
            while True:
                rows = await q_live_events.events_after(
                    connection, self.position, self.settle, READ_PAGE
                )
                for row in rows:
                    if not row["settled"]:
                        break  # it and what follows: pub/sub still has time to bring them
                    self.position = row["id"]
                    if not self.first_time(row["id"]):
                        continue
                    channel = self.wire.channel_of(row["scope"], row["target"])
                    message = self.wire.decode(channel, row["payload"])
                    if message is not None and not isinstance(message, Logged):
                        found.append((row["id"], message))
                else:
                    if len(rows) == READ_PAGE:
                        continue
                break
        self._forget()
        return found

    def _forget(self) -> None:
        horizon = time.monotonic() - SEEN_FOR
        while self.seen:  # in the order heard
            event_id, heard = next(iter(self.seen.items()))
            if heard >= horizon:
                break
            del self.seen[event_id]


async def prune(pool: asyncpg.Pool, batch: int) -> int:
    async with pool.acquire() as connection:
        return await q_live_events.prune(connection, RETENTION, batch)
