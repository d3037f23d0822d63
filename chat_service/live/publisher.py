"""What a replica tells the others, after the change is committed: one publish per event, in
the format of `wire`."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

from chat_service.live.wire import (
    ChatEvent,
    ChatGone,
    MessageCreated,
    UserEvent,
    UserJoined,
    UserLeft,
    Wire,
    WireMessage,
)
from shared.logs import ThrottledWarning

log = logging.getLogger(__name__)
_publish_failed = ThrottledWarning(log, "chat publish failed; replicas will read the database")


class Publisher:
    """Publishes after commit. A failure is logged, never raised: the message is stored, and
    replicas recover it from the database."""

    def __init__(self, redis: aioredis.Redis, wire: Wire) -> None:
        self.redis = redis
        self.wire = wire

    async def publish(self, message: WireMessage) -> None:
        try:
            await self.redis.publish(*self.wire.encode(message))
        except (OSError, aioredis.RedisError) as exc:
            _publish_failed(exc)

    async def message(self, chat_id: int, seq: int, text: str) -> None:
        await self.publish(MessageCreated(chat_id, seq, text))

    async def chat_event(self, chat_id: int, text: str, skip_user: int | None = None) -> None:
        await self.publish(ChatEvent(chat_id, text, skip_user))

    async def chat_gone(self, chat_id: int, text: str) -> None:
        await self.publish(ChatGone(chat_id, text))

    async def user_event(self, user_id: int, text: str) -> None:
        await self.publish(UserEvent(user_id, text))

    async def joined(self, user_id: int, chat_id: int, from_seq: int, text: str) -> None:
        await self.publish(UserJoined(user_id, chat_id, from_seq, text))

    async def left(self, user_id: int, chat_id: int, text: str) -> None:
        await self.publish(UserLeft(user_id, chat_id, text))
