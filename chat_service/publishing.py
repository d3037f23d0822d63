"""What replicas say to each other about chats: channel names, payload kinds, the publisher.

A payload is a small JSON header and the event's text; see chat_service/hub.py for how each
replica delivers it.
"""

from __future__ import annotations

import logging
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import parse_url

from shared.logs import ThrottledWarning
from shared.transport.jsoncodec import dumps

log = logging.getLogger(__name__)
_publish_failed = ThrottledWarning(log, "chat publish failed; replicas will read the database")

# Header kinds.
MESSAGE = "m"  # message.created of a chat, ordered by seq
CHAT_EVENT = "e"  # any other event for the members of a chat
CHAT_GONE = "drop"  # the chat was deleted: detach it everywhere
USER_EVENT = "u"  # an event for one user's devices
USER_JOINED = "join"  # the user is now a member of chat "c" (from seq "s")
USER_LEFT = "leave"  # the user is no longer a member of chat "c"

REPLAY_PAGE = 100


class Channels:
    """Channel names, scoped by the Redis database number: pub/sub ignores databases, and a
    test run must not hear a development stack on the same server."""

    def __init__(self, redis_url: str) -> None:
        db = parse_url(redis_url).get("db", 0)
        self.prefix = f"chat:{db}:"

    def chat(self, chat_id: int) -> str:
        return f"{self.prefix}c:{chat_id}"

    def user(self, user_id: int) -> str:
        return f"{self.prefix}u:{user_id}"

    def parse(self, channel: str) -> tuple[str, int]:
        kind, _, number = channel[len(self.prefix) :].partition(":")
        return kind, int(number)


class Publisher:
    """Publishes after commit. A failure is logged, never raised: the message is stored, and
    replicas recover it from the database."""

    def __init__(self, redis: aioredis.Redis, channels: Channels) -> None:
        self.redis = redis
        self.channels = channels

    async def _publish(self, channel: str, header: dict[str, Any], text: str) -> None:
        try:
            await self.redis.publish(channel, f"{dumps(header)}\n{text}")
        except (OSError, aioredis.RedisError) as exc:
            _publish_failed(exc)

    async def message(self, chat_id: int, seq: int, text: str) -> None:
        await self._publish(self.channels.chat(chat_id), {"k": MESSAGE, "s": seq}, text)

    async def chat_event(self, chat_id: int, text: str, skip_user: int | None = None) -> None:
        header: dict[str, Any] = {"k": CHAT_EVENT}
        if skip_user is not None:
            header["x"] = skip_user
        await self._publish(self.channels.chat(chat_id), header, text)

    async def chat_gone(self, chat_id: int, text: str) -> None:
        await self._publish(self.channels.chat(chat_id), {"k": CHAT_GONE}, text)

    async def user_event(self, user_id: int, text: str) -> None:
        await self._publish(self.channels.user(user_id), {"k": USER_EVENT}, text)

    async def joined(self, user_id: int, chat_id: int, from_seq: int, text: str) -> None:
        header = {"k": USER_JOINED, "c": chat_id, "s": from_seq}
        await self._publish(self.channels.user(user_id), header, text)

    async def left(self, user_id: int, chat_id: int, text: str) -> None:
        await self._publish(self.channels.user(user_id), {"k": USER_LEFT, "c": chat_id}, text)
