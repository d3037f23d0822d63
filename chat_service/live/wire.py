"""The pub/sub wire between chat replicas: channel names, and one typed message per kind,
encoded and decoded here and nowhere else.

A payload is a header line, then the event's text, which goes to each socket as it is. The
header is a small JSON object: the kind's tag under "k" and its numbers (`{"k":"m","s":42}`:
message.created with seq 42); the chat or user it concerns is the channel's. An event recorded
in the event log (migration 005) carries its id there under "i". The header is the
one the release of 2026-12-06 speaks, so that during a rolling upgrade old and new replicas
hear each other: change it only by expand, then contract (read a new form one release before
writing it). What a replica cannot read is logged and dropped, never raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
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
        header: dict[str, object]
        match message:
            case Logged(event_id, inner):
                channel, header, text = self._parts(inner)
                header["i"] = event_id
            case _:
                channel, header, text = self._parts(message)
        return channel, f"{orjson.dumps(header).decode()}\n{text}"

    def scope_of(self, message: WireMessage) -> tuple[str, int]:
        """The channel's scope and target of a message: (CHAT, chat id) or (USER, user id)."""
        match message:
            case UserEvent(target, _) | UserJoined(target, _, _, _) | UserLeft(target, _, _):
                return USER, target
            case _:
                return CHAT, message.chat_id

    def channel_of(self, scope: str, target: int) -> str:
        return f"{self.prefix}{scope}:{target}"

    def _parts(self, message: WireMessage) -> tuple[str, dict[str, object], str]:
        header: dict[str, object]
        match message:
            case MessageCreated(chat_id, seq, text):
                channel, header = self.chat_channel(chat_id), {"k": "m", "s": seq}
            case ChatEvent(chat_id, text, None):
                channel, header = self.chat_channel(chat_id), {"k": "e"}
            case ChatEvent(chat_id, text, skip_user):
                channel, header = self.chat_channel(chat_id), {"k": "e", "x": skip_user}
            case ChatGone(chat_id, text):
                channel, header = self.chat_channel(chat_id), {"k": "drop"}
            case UserEvent(user_id, text):
                channel, header = self.user_channel(user_id), {"k": "u"}
            case UserJoined(user_id, chat_id, from_seq, text):
                header = {"k": "join", "c": chat_id, "s": from_seq}
                channel = self.user_channel(user_id)
            case UserLeft(user_id, chat_id, text):
                channel, header = self.user_channel(user_id), {"k": "leave", "c": chat_id}
        return channel, header, text

    def decode(self, channel: str, payload: str) -> WireMessage | Logged | None:
        """The message of a payload heard on a channel; None (and a log line) for anything
        else."""
        try:
            return self._decode(channel, payload)
        except (UnreadablePayload, ValueError) as exc:
            self._unreadable(exc)
            return None

    def _decode(self, channel: str, payload: str) -> WireMessage | Logged:
        if not channel.startswith(self.prefix):
            raise UnreadablePayload(f"channel {channel!r} is not chat's")
        scope, _, number = channel[len(self.prefix) :].partition(":")
        target = int(number)
        head, newline, text = payload.partition("\n")
        if not newline:
            raise UnreadablePayload(f"no header line on {channel!r}")
        # Keys a reader does not know are ignored: a later release may add one (expand).
        header = orjson.loads(head)
        if not isinstance(header, dict):
            raise UnreadablePayload(f"header {head[:40]!r} on {channel!r}")
        message = self._message(scope, target, header, text)
        match header.get("i"):
            case None:
                return message
            case int(event_id):
                return Logged(event_id, message)
        raise UnreadablePayload(f"header {head[:40]!r} on {channel!r}")

    def _message(self, scope: str, target: int, header: dict[str, Any], text: str) -> WireMessage:
        match scope, header:
            case "c", {"k": "m", "s": int(seq)}:
                return MessageCreated(target, seq, text)
            case "c", {"k": "e", "x": int(skip_user)}:
                return ChatEvent(target, text, skip_user)
            case "c", {"k": "e"} if "x" not in header:
                return ChatEvent(target, text)
            case "c", {"k": "drop"}:
                return ChatGone(target, text)
            case "u", {"k": "u"}:
                return UserEvent(target, text)
            case "u", {"k": "join", "c": int(chat_id), "s": int(from_seq)}:
                return UserJoined(target, chat_id, from_seq, text)
            case "u", {"k": "leave", "c": int(chat_id)}:
                return UserLeft(target, chat_id, text)
        raise UnreadablePayload(f"header {header!r:.40} on channel {scope}:{target}")
