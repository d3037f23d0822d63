"""Fan-out across replicas: one publish per chat, each replica delivers to its own sockets.

Every replica subscribes, on one self-healing connection (shared/transport/subscriber.py),
to the channel of each chat that one of its connected users belongs to, and to one channel per
connected user (read markers, join decisions, membership changes). A payload is a small JSON
header and the event's text, which goes to each socket as it is.

Pub/sub is fire-and-forget and replicas publish independently, so a replica orders each
chat's messages itself: it delivers seq n only after n - 1, holds a message that overtook an
earlier one for `gap_wait` seconds, and then reads what is missing from the database, which
is the truth. The same read fills the gap after its subscription broke, and a periodic
comparison with each chat's counter catches a publish that never came.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiohttp import web

from chat_service import queries, render
from chat_service.keys import HUB
from chat_service.publishing import (
    CHAT_EVENT,
    CHAT_GONE,
    MESSAGE,
    REPLAY_PAGE,
    USER_JOINED,
    USER_LEFT,
    Channels,
)
from chat_service.sockets import CLOSE_GOING_AWAY, Client, Frame, text_frame
from shared.keys import PG_POOL, SETTINGS
from shared.service.tasks import stop_task, supervise
from shared.transport.jsoncodec import loads
from shared.transport.subscriber import Subscriber, SubscriberDown

log = logging.getLogger(__name__)


@dataclass
class ChatStream:
    """A chat's live messages on this replica, delivered in seq order."""

    next_seq: int = 0
    ready: bool = False
    filling: bool = False
    held: dict[int, Frame] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None
    behind: int | None = None  # what the last periodic check found missing


class Hub:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis_url: str,
        *,
        gap_wait: float,
        gap_check_interval: float,
    ) -> None:
        self.pool = pool
        self.channels = Channels(redis_url)
        self.subscriber = Subscriber(redis_url, self._on_message, self._on_reconnect)
        self.gap_wait = gap_wait
        self.gap_check_interval = gap_check_interval
        self.clients: dict[int, set[Client]] = {}
        self.members: dict[int, set[int]] = {}  # chat -> local users attached to it
        self.streams: dict[int, ChatStream] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # Sockets coming and going.

    async def attach(self, client: Client) -> None:
        """Registers a socket for its user's chats; returns once the subscriptions hold.

        The user's own channel comes first and the list of chats is read after it, so that a
        chat joined meanwhile is either in the list or announced on that channel."""
        first_device = client.user_id not in self.clients
        self.clients.setdefault(client.user_id, set()).add(client)
        if first_device:
            # While Redis is down the channel is recorded, and subscribed on reconnection.
            with contextlib.suppress(SubscriberDown):
                await self.subscriber.subscribe([self.channels.user(client.user_id)])
        async with self.pool.acquire() as connection:
            chat_ids = await queries.member_chat_ids(connection, client.user_id)
        await self._attach_chats(client, chat_ids)

    async def _attach_chats(self, client: Client, chat_ids: list[int]) -> None:
        new = [chat_id for chat_id in chat_ids if chat_id not in self.members]
        for chat_id in chat_ids:
            self.members.setdefault(chat_id, set()).add(client.user_id)
            client.chats.add(chat_id)
        for chat_id in new:
            self.streams[chat_id] = ChatStream()
        if not new:
            return
        try:
            await self.subscriber.subscribe([self.channels.chat(chat_id) for chat_id in new])
        except SubscriberDown:
            return  # recorded: subscribed and filled from the database on reconnection
        async with self.pool.acquire() as connection:
            seqs = await queries.last_seqs(connection, new)
        for chat_id in new:
            stream = self.streams.get(chat_id)
            if stream is not None and not stream.ready:
                # Everything up to the counter is in the database; sockets get it from their
                # hello or a replay.
                self._start_at(chat_id, stream, seqs.get(chat_id, 0) + 1)

    def detach(self, client: Client) -> None:
        devices = self.clients.get(client.user_id)
        if devices is not None:
            devices.discard(client)
            if not devices:
                del self.clients[client.user_id]
                self.subscriber.unsubscribe([self.channels.user(client.user_id)])
                for chat_id in list(client.chats):
                    self._drop_member(chat_id, client.user_id)
        client.chats.clear()

    def _drop_member(self, chat_id: int, user_id: int) -> None:
        members = self.members.get(chat_id)
        if members is None:
            return
        members.discard(user_id)
        if not members:
            del self.members[chat_id]
            stream = self.streams.pop(chat_id, None)
            if stream is not None and stream.timer is not None:
                stream.timer.cancel()
            self.subscriber.unsubscribe([self.channels.chat(chat_id)])

    def devices(self) -> list[tuple[int, str]]:
        """(user, device) of every socket of this replica."""
        return [
            (user_id, client.device_id)
            for user_id, clients in self.clients.items()
            for client in clients
        ]

    # What Redis delivers.

    def _on_message(self, channel: str, data: str) -> None:
        head, _, text = data.partition("\n")
        header = loads(head)
        kind, number = self.channels.parse(channel)
        if kind == "c":
            self._chat_payload(number, header, text)
        elif kind == "u":
            self._user_payload(number, header, text)

    def _chat_payload(self, chat_id: int, header: dict[str, Any], text: str) -> None:
        what = header["k"]
        if what == MESSAGE:
            self._message(chat_id, int(header["s"]), text)
        elif what == CHAT_EVENT:
            skip = header.get("x")
            frame = text_frame(text)
            for user_id in list(self.members.get(chat_id, ())):
                if user_id != skip:
                    for client in self.clients.get(user_id, ()):
                        client.offer(chat_id, None, frame)
        elif what == CHAT_GONE:
            frame = text_frame(text)
            for user_id in list(self.members.get(chat_id, ())):
                for client in list(self.clients.get(user_id, ())):
                    client.offer(chat_id, None, frame)
                    client.chats.discard(chat_id)
                    client.windows.pop(chat_id, None)
                self._drop_member(chat_id, user_id)

    def _user_payload(self, user_id: int, header: dict[str, Any], text: str) -> None:
        clients = list(self.clients.get(user_id, ()))
        what = header["k"]
        if what == USER_JOINED:
            for client in clients:
                self._spawn(self._join(client, int(header["c"]), int(header["s"]), text))
            return
        frame = text_frame(text)
        if what == USER_LEFT:
            chat_id = int(header["c"])
            for client in clients:
                client.push(frame)
                client.chats.discard(chat_id)
                client.windows.pop(chat_id, None)
            if clients:
                self._drop_member(chat_id, user_id)
            return
        for client in clients:
            client.push(frame)

    async def _join(self, client: Client, chat_id: int, from_seq: int, text: str) -> None:
        """A live socket's user joined a chat: subscribe, then replay what came since (the
        socket's own record of what it was sent keeps the replay from repeating anything)."""
        await client.ready.wait()  # after the hello, which may already count the chat
        if client.closed:
            return
        client.begin_replay(chat_id)
        await self._attach_chats(client, [chat_id])
        client.send(text)
        await self.replay(client, chat_id, from_seq, announce=False)

    def _message(self, chat_id: int, seq: int, text: str) -> None:
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
        self._deliver(chat_id, seq, frame)
        stream.next_seq = seq + 1
        self._release(chat_id, stream)

    def _deliver(self, chat_id: int, seq: int, frame: Frame) -> None:
        for user_id in self.members.get(chat_id, ()):
            for client in self.clients.get(user_id, ()):
                client.offer(chat_id, seq, frame)

    def _release(self, chat_id: int, stream: ChatStream) -> None:
        while (frame := stream.held.pop(stream.next_seq, None)) is not None:
            self._deliver(chat_id, stream.next_seq, frame)
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
            self._spawn(self.fill(chat_id))

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
                upto = (await queries.last_seqs(connection, [chat_id])).get(chat_id, 0)
                cursor = stream.next_seq - 1 if stream.ready else upto
                rows: list[asyncpg.Record] = []
                while cursor < upto:
                    page = await queries.messages_after(
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
                    render.event("message.created", render.message(row))
                )
                self._deliver(chat_id, row["seq"], frame)
        self._start_at(chat_id, stream, upto + 1)

    async def replay(self, client: Client, chat_id: int, after: int, *, announce: bool) -> None:
        """Sends one socket the messages of a chat after `after` it was not sent yet, then
        what arrived live meanwhile; `announce` ends it with a `resumed` event."""
        client.begin_replay(chat_id)
        sent = after
        upto = after
        try:
            async with self.pool.acquire() as connection:
                upto = (await queries.last_seqs(connection, [chat_id])).get(chat_id, 0)
                window = client.windows.get(chat_id)
                while sent < upto and not client.closed:
                    page = await queries.messages_after(
                        connection, chat_id, sent, REPLAY_PAGE, upto
                    )
                    if not page:
                        break
                    for row in page:
                        if window is None or not window.low < row["seq"] <= window.high:
                            await client.push_paced(
                                text_frame(render.event("message.created", render.message(row)))
                            )
                    sent = page[-1]["seq"]
            sent = max(sent, upto)
        finally:
            high = client.end_replay(chat_id, after, sent)
        if announce:
            client.send(render.event("resumed", {"chatId": chat_id, "lastSeq": high}))

    async def _on_reconnect(self) -> None:
        for chat_id in list(self.streams):
            await self.fill(chat_id)

    async def check_gaps(self) -> None:
        """Compares each chat's counter with what was delivered here; a seq still missing at
        the next check was never published (a replica died, or Redis dropped it)."""
        ready = [chat_id for chat_id, s in self.streams.items() if s.ready and not s.filling]
        if not ready or not self.subscriber.connected:
            return
        async with self.pool.acquire() as connection:
            counters = await queries.last_seqs(connection, ready)
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

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(self.gap_check_interval)
            await self.check_gaps()

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("hub task failed", exc_info=task.exception())

    async def close(self) -> None:
        for clients in list(self.clients.values()):
            for client in list(clients):
                client.close(CLOSE_GOING_AWAY, "server shutting down")
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)


def hub_ctx(gap_wait: float, gap_check_interval: float) -> Any:
    """Runs the replica's hub: its subscription and its gap checks, for the app's lifetime."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        hub = Hub(
            app[PG_POOL],
            app[SETTINGS].redis_url.get(),
            gap_wait=gap_wait,
            gap_check_interval=gap_check_interval,
        )
        app[HUB] = hub
        reader = asyncio.create_task(supervise("chat:pubsub", hub.subscriber.run))
        checker = asyncio.create_task(supervise("chat:gaps", hub._check_loop))
        await hub.subscriber.wait_connected(2.0)
        try:
            yield
        finally:
            await hub.close()
            await stop_task(checker)
            await stop_task(reader)

    return ctx
