"""Fan-out across replicas: one publish per chat, each replica delivers to its own sockets.

Every replica subscribes, on one self-healing connection (shared/transport/subscriber.py),
to the channel of each chat that one of its connected users belongs to, and to one channel
per connected user (read markers, join decisions, membership changes). The hub keeps the
subscriptions in step with the sockets (`registry`), hands each chat's messages to the
`ordering`, and every other event straight to the sockets concerned; what pub/sub lost of
those comes from the event log (`log`), each event once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

import asyncpg

from chat_service.live.log import EventLog
from chat_service.live.ordering import Sequencer
from chat_service.live.registry import Registry
from chat_service.live.replay import replay
from chat_service.live.sockets import CLOSE_GOING_AWAY, Client, Frame, text_frame
from chat_service.live.wire import (
    ChatEvent,
    ChatGone,
    Logged,
    MessageCreated,
    UserEvent,
    UserJoined,
    UserLeft,
    Wire,
    WireMessage,
)
from chat_service.queries import live_events as q_live_events
from chat_service.queries import users as q_users
from shared.tasks import pause
from shared.transport.subscriber import Subscriber, SubscriberDown

log = logging.getLogger(__name__)


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
        self.wire = Wire(redis_url)
        self.subscriber = Subscriber(redis_url, self._on_payload, self._on_reconnect)
        self.gap_check_interval = gap_check_interval
        self.registry = Registry()
        self.ordering = Sequencer(pool, self._deliver, self._spawn, gap_wait=gap_wait)
        self.log = EventLog(pool, self.wire, settle=gap_wait)
        self._tasks: set[asyncio.Task[None]] = set()

    # Sockets coming and going.

    async def attach(self, client: Client) -> None:
        """Registers a socket for its user's chats; returns once the subscriptions hold.

        The user's own channel comes first and the list of chats is read after it, so that a
        chat joined meanwhile is either in the list or announced on that channel."""
        if self.registry.add(client):
            # While Redis is down the channel is recorded, and subscribed on reconnection.
            with contextlib.suppress(SubscriberDown):
                await self.subscriber.subscribe([self.wire.user_channel(client.user_id)])
        async with self.pool.acquire() as connection:
            # What the log holds now is in the hello, read after: the socket is not sent it
            # again when the log's reader finds it.
            client.log_mark = await q_live_events.last_id(connection)
            chat_ids = await q_users.member_chat_ids(connection, client.user_id)
        await self._follow(client, chat_ids)

    async def _follow(self, client: Client, chat_ids: list[int]) -> None:
        new = self.registry.follow(client, chat_ids)
        if not new:
            return
        self.ordering.open(new)
        try:
            await self.subscriber.subscribe([self.wire.chat_channel(chat_id) for chat_id in new])
        except SubscriberDown:
            return  # recorded: subscribed and filled from the database on reconnection
        await self.ordering.start(new)

    def detach(self, client: Client) -> None:
        last, unfollowed = self.registry.remove(client)
        if last:
            self.subscriber.unsubscribe([self.wire.user_channel(client.user_id)])
        self._let_go(unfollowed)

    def _unfollow(self, chat_id: int, user_id: int) -> None:
        if self.registry.unfollow(chat_id, user_id):
            self._let_go([chat_id])

    def _let_go(self, chat_ids: list[int]) -> None:
        """Chats that no local user follows any more."""
        for chat_id in chat_ids:
            self.ordering.close(chat_id)
            self.subscriber.unsubscribe([self.wire.chat_channel(chat_id)])

    def devices(self) -> list[tuple[int, str]]:
        """(user, device) of every socket of this replica."""
        return self.registry.devices()

    async def replay(self, client: Client, chat_id: int, after: int, *, announce: bool) -> None:
        await replay(self.pool, client, chat_id, after, announce=announce)

    # What Redis delivers.

    def _on_payload(self, channel: str, payload: str) -> None:
        match self.wire.decode(channel, payload):
            case Logged(event_id, message):
                if self.log.first_time(event_id):
                    self._dispatch(message)
            case None:
                pass
            case message:
                self._dispatch(message)

    def _dispatch(self, message: WireMessage, recovered: int = 0) -> None:
        """Delivers a message; `recovered`, the id of an event read from the log, leaves out
        the sockets that connected after it (their hello had it)."""
        match message:
            case MessageCreated(chat_id, seq, text):
                self.ordering.message(chat_id, seq, text)
            case ChatEvent(chat_id, text, skip_user):
                frame = text_frame(text)
                for client in self._since(self.registry.in_chat(chat_id, skip_user), recovered):
                    client.offer(chat_id, None, frame)
            case ChatGone(chat_id, text):
                self._chat_gone(chat_id, text_frame(text))
            case UserEvent(user_id, text):
                frame = text_frame(text)
                for client in self._since(self.registry.of_user(user_id), recovered):
                    client.offer_own(frame)
            case UserJoined(user_id, chat_id, from_seq, text):
                for client in self._since(self.registry.of_user(user_id), recovered):
                    self._spawn(self._join(client, chat_id, from_seq, text))
            case UserLeft(user_id, chat_id, text):
                self._user_left(user_id, chat_id, text_frame(text))

    @staticmethod
    def _since(clients: Iterable[Client], recovered: int) -> Iterable[Client]:
        if not recovered:
            return clients
        return (client for client in clients if client.log_mark < recovered)

    async def catch_up(self) -> None:
        """Delivers what the event log holds that pub/sub did not bring."""
        for event_id, message in await self.log.missed():
            self._dispatch(message, event_id)

    def _deliver(self, chat_id: int, seq: int, frame: Frame) -> None:
        for client in self.registry.in_chat(chat_id):
            client.offer(chat_id, seq, frame)

    def _chat_gone(self, chat_id: int, frame: Frame) -> None:
        for user_id in list(self.registry.members.get(chat_id, ())):
            for client in self.registry.of_user(user_id):
                client.offer(chat_id, None, frame)
                client.forget(chat_id)
            self._unfollow(chat_id, user_id)

    def _user_left(self, user_id: int, chat_id: int, frame: Frame) -> None:
        clients = self.registry.of_user(user_id)
        for client in clients:
            client.push(frame)
            client.forget(chat_id)
        if clients:
            self._unfollow(chat_id, user_id)

    async def _join(self, client: Client, chat_id: int, from_seq: int, text: str) -> None:
        """A live socket's user joined a chat: subscribe, then replay what came since (the
        socket's own record of what it was sent keeps the replay from repeating anything)."""
        await client.ready.wait()  # after the hello, which may already count the chat
        if client.closed:
            return
        client.begin_replay(chat_id)
        await self._follow(client, [chat_id])
        client.send(text)
        await self.replay(client, chat_id, from_seq, announce=False)

    async def _on_reconnect(self) -> None:
        await self.ordering.fill_all()
        await self.catch_up()

    async def check_gaps(self) -> None:
        if self.subscriber.connected:
            await self.ordering.check_gaps()
        await self.catch_up()

    async def check_loop(self) -> None:
        await self.log.missed()  # where the log stands: what came before is in the hellos
        while True:
            await pause(self.gap_check_interval)
            await self.check_gaps()

    # The hub's own tasks.

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("hub task failed", exc_info=task.exception())

    async def close(self) -> None:
        for client in self.registry.every():
            client.close(CLOSE_GOING_AWAY, "server shutting down")
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
