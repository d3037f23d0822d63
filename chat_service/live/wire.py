"""The pub/sub wire between chat replicas: channel names, and one typed message per kind,
encoded and decoded here and nowhere else.

A payload is a header line, then the event's text, which goes to each socket as it is. The
header is the kind's tag and its numbers, separated by spaces (`m 42`: message.created with
seq 42); the chat or user it concerns is the channel's. An event recorded in the event log
starts its header with its id there (`#17 e 5`). Replicas of one release speak the
same wire; what a replica cannot read is logged and dropped, never raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio.connection import parse_url

from shared.logs import ThrottledWarning

log = logging.getLogger(__name__)

CHAT = "c"
USER = "u"


@dataclass(frozen=True, slots=True)
class MessageCreated:
    """message.created of a chat: delivered in seq order."""

    chat_id: int
    seq: int
    text: str


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """Any other event for the members of a chat, but `skip_user` (the one who caused it)."""

    chat_id: int
    text: str
    skip_user: int | None = None


@dataclass(frozen=True, slots=True)
class ChatGone:
    """The chat was deleted: its members are told, and every replica lets it go."""

    chat_id: int
    text: str


@dataclass(frozen=True, slots=True)
class UserEvent:
    """An event for every device of one user."""

    user_id: int
    text: str


@dataclass(frozen=True, slots=True)
class UserJoined:
    """The user is now a member of a chat: its messages after `from_seq` are theirs."""

    user_id: int
    chat_id: int
    from_seq: int
    text: str


@dataclass(frozen=True, slots=True)
class UserLeft:
    """The user is no longer a member of a chat."""

    user_id: int
    chat_id: int
    text: str


WireMessage = MessageCreated | ChatEvent | ChatGone | UserEvent | UserJoined | UserLeft


@dataclass(frozen=True, slots=True)
class Logged:
    """A message recorded in the event log (migration 005) as `event_id`: a replica that
    hears it live and reads it from the log delivers it once."""

    event_id: int
    message: WireMessage


class UnreadablePayload(ValueError):
    pass


class Wire:
    """Channel names, scoped by the Redis database number (pub/sub ignores databases, and a
    test run must not hear a development stack on the same server), and the codec."""

    def __init__(self, redis_url: str) -> None:
        db = parse_url(redis_url).get("db", 0)
        self.prefix = f"chat:{db}:"
        self._unreadable = ThrottledWarning(log, "chat pub/sub payload dropped: unreadable")

    def chat_channel(self, chat_id: int) -> str:
        return f"{self.prefix}{CHAT}:{chat_id}"

    def user_channel(self, user_id: int) -> str:
        return f"{self.prefix}{USER}:{user_id}"

    def encode(self, message: WireMessage | Logged) -> tuple[str, str]:
        """The channel and the payload of a message."""
        match message:
            case Logged(event_id, inner):
                channel, payload = self.encode(inner)
                return channel, f"#{event_id} {payload}"
            case MessageCreated(chat_id, seq, text):
                return self.chat_channel(chat_id), f"m {seq}\n{text}"
            case ChatEvent(chat_id, text, None):
                return self.chat_channel(chat_id), f"e\n{text}"
            case ChatEvent(chat_id, text, skip_user):
                return self.chat_channel(chat_id), f"e {skip_user}\n{text}"
            case ChatGone(chat_id, text):
                return self.chat_channel(chat_id), f"g\n{text}"
            case UserEvent(user_id, text):
                return self.user_channel(user_id), f"u\n{text}"
            case UserJoined(user_id, chat_id, from_seq, text):
                return self.user_channel(user_id), f"j {chat_id} {from_seq}\n{text}"
            case UserLeft(user_id, chat_id, text):
                return self.user_channel(user_id), f"l {chat_id}\n{text}"

    def scope_of(self, message: WireMessage) -> tuple[str, int]:
        """The channel's scope and target of a message: (CHAT, chat id) or (USER, user id)."""
        match message:
            case UserEvent(target, _) | UserJoined(target, _, _, _) | UserLeft(target, _, _):
                return USER, target
            case _:
                return CHAT, message.chat_id

    def channel_of(self, scope: str, target: int) -> str:
        return f"{self.prefix}{scope}:{target}"

    def decode(self, channel: str, payload: str) -> WireMessage | Logged | None:
        """The message of a payload heard on a channel; None (and a log line) for anything
        else."""
        try:
            return self._decode(channel, payload)
        except (UnreadablePayload, ValueError) as exc:
            self._unreadable(exc)
            return None

    def _decode(self, channel: str, payload: str) -> WireMessage | Logged:
        if payload.startswith("#"):
            event_id, _, unlogged = payload[1:].partition(" ")
            inner = self._decode(channel, unlogged)
            if isinstance(inner, Logged):
                raise UnreadablePayload(f"two event ids on {channel!r}")
            return Logged(int(event_id), inner)
        if not channel.startswith(self.prefix):
            raise UnreadablePayload(f"channel {channel!r} is not chat's")
        scope, _, number = channel[len(self.prefix) :].partition(":")
        target = int(number)
        head, newline, text = payload.partition("\n")
        if not newline:
            raise UnreadablePayload(f"no header line on {channel!r}")
        tag, *rest = head.split(" ")
        numbers = [int(value) for value in rest]
        match scope, tag, numbers:
            case "c", "m", [seq]:
                return MessageCreated(target, seq, text)
            case "c", "e", []:
                return ChatEvent(target, text)
            case "c", "e", [skip_user]:
                return ChatEvent(target, text, skip_user)
            case "c", "g", []:
                return ChatGone(target, text)
            case "u", "u", []:
                return UserEvent(target, text)
            case "u", "j", [chat_id, from_seq]:
                return UserJoined(target, chat_id, from_seq, text)
            case "u", "l", [chat_id]:
                return UserLeft(target, chat_id, text)
        raise UnreadablePayload(f"header {head[:40]!r} on {channel!r}")
