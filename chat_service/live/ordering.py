"""Each chat's live messages on this replica, delivered in seq order.

Pub/sub is fire-and-forget and replicas publish independently, so a replica orders each
chat's messages itself: it delivers seq n only after n - 1, holds a message that overtook an
earlier one for `gap_wait` seconds, and then reads what is missing from the database, which
is the truth. The same read fills the gap after the subscription broke, and a periodic
comparison with each chat's counter catches a publish that never came.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from chat_service import compose
from chat_service.live.replay import REPLAY_PAGE
from chat_service.live.sockets import Frame, text_frame
from chat_service.queries import chats as q_chats
from chat_service.queries import messages as q_messages

Deliver = Callable[[int, int, Frame], None]  # chat, seq, frame
Spawn = Callable[[Coroutine[Any, Any, None]], None]


@dataclass
class ChatStream:
    """A chat's live messages on this replica, delivered in seq order."""

    next_seq: int = 0
    ready: bool = False
    filling: bool = False
    held: dict[int, Frame] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None
    behind: int | None = None  # what the last periodic check found missing


class Sequencer:
    def __init__(
        self, pool: asyncpg.Pool, deliver: Deliver, spawn: Spawn, *, gap_wait: float
    ) -> None:
        self.pool = pool
        self.deliver = deliver
        self.spawn = spawn
        self.gap_wait = gap_wait
        self.streams: dict[int, ChatStream] = {}

    def open(self, chat_ids: Sequence[int]) -> None:
        for chat_id in chat_ids:
            self.streams[chat_id] = ChatStream()

    def close(self, chat_id: int) -> None:
        stream = self.streams.pop(chat_id, None)
        if stream is not None and stream.timer is not None:
            stream.timer.cancel()

    async def start(self, chat_ids: Sequence[int]) -> None:
        """Streams just opened start after each chat's counter: everything up to it is in the
        database, and sockets get it from their hello or a replay."""
        async with self.pool.acquire() as connection:
            seqs = await q_chats.last_seqs(connection, chat_ids)
        for chat_id in chat_ids:
            stream = self.streams.get(chat_id)
            if stream is not None and not stream.ready:
                self._start_at(chat_id, stream, seqs.get(chat_id, 0) + 1)

    def message(self, chat_id: int, seq: int, text: str) -> None:
        """A message.created heard live."""
        stream = self.streams.get(chat_id)
        if stream is None:
            return
        frame = text_frame(text)
        if not stream.ready or stream.filling:
            if not stream.ready or seq >= stream.next_seq:
                stream.held[seq] = frame
            return
        if seq < stream.next_seq:
            return  # a duplicate: the database read delivered it already
        if seq > stream.next_seq:
            stream.held[seq] = frame
            if stream.timer is None:
                stream.timer = asyncio.get_running_loop().call_later(
                    self.gap_wait, self._fill_later, chat_id
                )
            return
        self.deliver(chat_id, seq, frame)
        stream.next_seq = seq + 1
        self._release(chat_id, stream)

    def _release(self, chat_id: int, stream: ChatStream) -> None:
        while (frame := stream.held.pop(stream.next_seq, None)) is not None:
            self.deliver(chat_id, stream.next_seq, frame)
            stream.next_seq += 1
        if stream.held and stream.timer is None:
            stream.timer = asyncio.get_running_loop().call_later(
                self.gap_wait, self._fill_later, chat_id
            )
        elif not stream.held and stream.timer is not None:
            stream.timer.cancel()
            stream.timer = None

    def _start_at(self, chat_id: int, stream: ChatStream, next_seq: int) -> None:
        stream.next_seq = max(stream.next_seq, next_seq)
        stream.ready = True
        for seq in [s for s in stream.held if s < stream.next_seq]:
            del stream.held[seq]
        self._release(chat_id, stream)

    # Reading the database where pub/sub fell short.

    def _fill_later(self, chat_id: int) -> None:
        stream = self.streams.get(chat_id)
        if stream is not None:
            stream.timer = None
            self.spawn(self.fill(chat_id))

    async def fill(self, chat_id: int) -> None:
        """Delivers, in order, what the database holds beyond what this replica delivered."""
        stream = self.streams.get(chat_id)
        if stream is None or stream.filling:
            return
        stream.filling = True
        try:
            async with self.pool.acquire() as connection:
                # The counter first: every seq up to it is committed, so the read after it
                # sees them all (a missing one expired or was removed).
                upto = (await q_chats.last_seqs(connection, [chat_id])).get(chat_id, 0)
                cursor = stream.next_seq - 1 if stream.ready else upto
                rows: list[asyncpg.Record] = []
                while cursor < upto:
                    page = await q_messages.messages_after(
                        connection, chat_id, cursor, REPLAY_PAGE, upto
                    )
                    if not page:
                        break
                    rows += page
                    cursor = page[-1]["seq"]
        finally:
            stream.filling = False
        if self.streams.get(chat_id) is not stream:
            return
        for row in rows:
            if row["seq"] >= stream.next_seq:
                frame = stream.held.pop(row["seq"], None) or text_frame(
                    compose.event("message.created", compose.message(row))
                )
                self.deliver(chat_id, row["seq"], frame)
        self._start_at(chat_id, stream, upto + 1)

    async def fill_all(self) -> None:
        """After the subscription came back: whatever was published meanwhile is lost."""
        for chat_id in list(self.streams):
            await self.fill(chat_id)

    async def check_gaps(self) -> None:
        """Compares each chat's counter with what was delivered here; a seq still missing at
        the next check was never published (a replica died, or Redis dropped it)."""
        ready = [chat_id for chat_id, s in self.streams.items() if s.ready and not s.filling]
        if not ready:
            return
        async with self.pool.acquire() as connection:
            counters = await q_chats.last_seqs(connection, ready)
        for chat_id, last_seq in counters.items():
            stream = self.streams.get(chat_id)
            if stream is None:
                continue
            if last_seq >= stream.next_seq:
                if stream.behind == stream.next_seq:
                    await self.fill(chat_id)
                    stream.behind = None
                else:
                    stream.behind = stream.next_seq
            else:
                stream.behind = None
