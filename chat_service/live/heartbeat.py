"""Heartbeats of a replica's sockets: each is pinged once per interval, and one that has sent
nothing since its previous ping (not even the pong) is cut as dead.

aiohttp's own heartbeat costs every socket two timers and a task per ping, rescheduled on
every frame received; here the sockets are spread over SLOTS slots, one slot is visited per
interval / SLOTS, and a ping is a two-byte frame pushed like any other (so it is written with
whatever else the socket gets in that turn). Spreading also keeps ten thousand sockets that
connected together (after a deploy) from being pinged, and answering, in the same second.
A dead peer is noticed within one to two intervals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from chat_service.live.sockets import Client

log = logging.getLogger(__name__)

SLOTS = 30
PING = b"\x89\x00"  # RFC 6455 5.5.2: a final ping frame with no payload, unmasked


class Heartbeat:
    def __init__(self, interval: float, slots: int = SLOTS) -> None:
        self.interval = interval
        self._slots: list[set[Client]] = [set() for _ in range(slots)]
        self._of: dict[Client, int] = {}
        self._next = 0

    def add(self, client: Client) -> None:
        slot = random.randrange(len(self._slots))
        self._of[client] = slot
        self._slots[slot].add(client)

    def discard(self, client: Client) -> None:
        slot = self._of.pop(client, None)
        if slot is not None:
            self._slots[slot].discard(client)

    def tick(self) -> None:
        """Visits the next slot: pings its sockets, cuts those that did not answer the last."""
        slot = self._slots[self._next]
        self._next = (self._next + 1) % len(self._slots)
        for client in list(slot):
            if client.closed:
                continue
            if client.pinged:
                log.info("websocket cut: no answer to a ping", extra={"user_id": client.user_id})
                self.discard(client)
                client.closed = True
                # Dead or stalled: it would take no close frame either (aiohttp did the same).
                with contextlib.suppress(Exception):
                    client.transport.abort()
                continue
            client.pinged = True
            client.push(PING)

    async def run(self) -> None:
        step = self.interval / len(self._slots)
        while True:
            await asyncio.sleep(step)
            self.tick()
