"""What a replica tells the others, after the change is committed: one publish per event, in
the format of `wire`. Every event a client must not miss, message.created apart, is first
recorded in the event log (migration 005, `log.py`), which replicas read for what pub/sub did
not bring them."""

from __future__ import annotations

import logging

import asyncpg
import redis.asyncio as aioredis

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
from shared.events.outbox import OutboxRelay
from shared.logs import ThrottledWarning

log = logging.getLogger(__name__)
_publish_failed = ThrottledWarning(log, "chat publish failed; replicas will read the database")
_record_failed = ThrottledWarning(log, "chat event not recorded; published only")


class Publisher:
    """Publishes after commit. A failure is logged, never raised: the change is stored, and
    replicas recover the event from the database (a message from its chat, anything else
    from the event log)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        wire: Wire,
        pool: asyncpg.Pool,
        relay: OutboxRelay | None = None,
    ) -> None:
        self.redis = redis
        self.wire = wire
        self.pool = pool
        self.relay = relay

    def outbox_written(self) -> None:
        """After a commit that recorded events in chat's outbox: relay them now."""
        if self.relay is not None:
            self.relay.wake()

    async def user_event_in(
        self, connection: asyncpg.Connection, user_id: int, text: str
    ) -> Logged:
        """Records a user's event in the log within the caller's transaction (so it is
        recorded if and only if the change commits); publish what it answers after the
        commit. A replica that dies in between leaves it to the others' log reads."""
        message = UserEvent(user_id, text)
        scope, target = self.wire.scope_of(message)
        _, payload = self.wire.encode(message)
        event_id = await q_live_events.record_now(connection, scope, target, payload)
        return Logged(event_id, message)

    async def publish(self, message: WireMessage | Logged) -> None:
        try:
            await self.redis.publish(*self.wire.encode(message))
        except (OSError, aioredis.RedisError) as exc:
            _publish_failed(exc)

    async def publish_recorded(self, message: WireMessage) -> None:
        """Records the event in the log, then publishes it with its id there."""
        scope, target = self.wire.scope_of(message)
        _, payload = self.wire.encode(message)
        try:
            async with self.pool.acquire() as connection:
                event_id = await q_live_events.record(connection, scope, target, payload)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            _record_failed(exc)
            await self.publish(message)
            return
        await self.publish(Logged(event_id, message))

    async def message(self, chat_id: int, seq: int, text: str) -> None:
        # Not recorded: the message and its seq are their own record (the hot path).
        await self.publish(MessageCreated(chat_id, seq, text))

    async def chat_event(
        self, chat_id: int, text: str, skip_user: int | None = None, *, recorded: bool = True
    ) -> None:
        """`recorded=False` for what is stale a moment later (typing, presence)."""
        event = ChatEvent(chat_id, text, skip_user)
        await (self.publish_recorded(event) if recorded else self.publish(event))

    async def chat_gone(self, chat_id: int, text: str) -> None:
        await self.publish_recorded(ChatGone(chat_id, text))

    async def user_event(self, user_id: int, text: str) -> None:
        await self.publish_recorded(UserEvent(user_id, text))

    async def joined(self, user_id: int, chat_id: int, from_seq: int, text: str) -> None:
        await self.publish_recorded(UserJoined(user_id, chat_id, from_seq, text))

    async def left(self, user_id: int, chat_id: int, text: str) -> None:
        await self.publish_recorded(UserLeft(user_id, chat_id, text))
