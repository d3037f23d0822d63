"""The JSON shapes the client reads, as API.md and the chat contract define them.

They are TypedDicts over the decoded JSON, not validated objects: the server is the judge of
its own answers, and a field the client does not know about is simply ignored.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

JSON = dict[str, Any]


class Author(TypedDict):
    username: str
    image: str | None


class Attachment(TypedDict):
    id: str | int  # opaque: the server's choice (today a random hex string)
    filename: str
    contentType: str
    size: int


class Message(TypedDict):
    id: int
    chatId: int
    seq: int | None
    author: Author | None
    body: str | None
    attachment: Attachment | None
    replyTo: int | None
    createdAt: str
    editedAt: str | None
    deleted: bool
    expiresAt: str | None
    commentsCount: int
    scheduled: NotRequired[bool]
    sendAt: NotRequired[str]


class Chat(TypedDict):
    id: int
    type: Literal["general", "direct", "group"]
    title: str | None
    description: str | None
    private: bool
    owner: Author | None
    messageTtlSeconds: int | None
    createdAt: str
    lastSeq: int
    lastMessage: Message | None
    unreadCount: int


def chat_title(chat: Chat) -> str:
    """A chat's name for people: its title, or its id while it has none."""
    return chat.get("title") or f"chat {chat['id']}"


class UnreadChat(TypedDict):
    chatId: int
    title: str | None
    lastSeq: int
    readSeq: int
    unreadCount: int
    messages: list[Message]


class Event(TypedDict):
    """A websocket frame from the server: `type` says what `data` holds."""

    type: str
    data: Any
