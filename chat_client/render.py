"""How chats, messages and live events look in the terminal: one line each, plain ASCII.

One line per message keeps the output readable in any terminal and easy to grep; times are
shown in the local time zone, with the date only when it is not today.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from chat_client.models import Attachment, Chat, Message, UnreadChat, chat_title

PREVIEW_LENGTH = 40


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def one_line(text: str) -> str:
    """Bodies may hold line breaks; a message still takes one line."""
    return " / ".join(part.strip() for part in text.splitlines() if part.strip())


def shorten(text: str, length: int = PREVIEW_LENGTH) -> str:
    return text if len(text) <= length else text[: length - 3] + "..."


def author_name(message: Message) -> str:
    author = message.get("author")
    return author["username"] if author else "(unknown)"


def attachment_note(attachment: Attachment) -> str:
    return f"[file {attachment['id']}: {attachment['filename']}, {format_size(attachment['size'])}]"


def username_in(data: Any) -> str:
    """Member events name the user either flat or as a nested user object."""
    if not isinstance(data, dict):
        return "someone"
    if isinstance(data.get("username"), str):
        return str(data["username"])
    for key in ("user", "author", "member"):
        nested = data.get(key)
        if isinstance(nested, dict) and isinstance(nested.get("username"), str):
            return str(nested["username"])
    return "someone"


@dataclass
class Renderer:
    """Formats for one terminal; `tz` None means the machine's local time zone."""

    tz: tzinfo | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())

    def time(self, iso: str | None) -> str:
        if not iso:
            return "--:--"
        try:
            moment = datetime.fromisoformat(iso).astimezone(self.tz)
        except ValueError:
            return iso
        today = self.now().astimezone(self.tz).date()
        if moment.date() == today:
            return moment.strftime("%H:%M")
        if moment.year == today.year:
            return moment.strftime("%d %b %H:%M")
        return moment.strftime("%Y-%m-%d %H:%M")

    def message(self, message: Message, *, label: str | None = None) -> str:
        prefix = f"[{label}] " if label else ""
        head = f"{prefix}{self.time(message.get('createdAt'))} {author_name(message)}:"
        if message.get("deleted"):
            return f"{head} (deleted)"
        parts: list[str] = []
        if message.get("replyTo") is not None:
            parts.append(f"(re #{message['replyTo']})")
        if message.get("body"):
            parts.append(one_line(str(message["body"])))
        attachment = message.get("attachment")
        if attachment:
            parts.append(attachment_note(attachment))
        if message.get("editedAt"):
            parts.append("(edited)")
        if message.get("commentsCount"):
            count = message["commentsCount"]
            parts.append(f"({count} comment{'s' if count != 1 else ''})")
        return " ".join([head, *parts])

    def messages(self, messages: Iterable[Message], *, indent: str = "") -> list[str]:
        return [indent + self.message(message) for message in messages]

    def scheduled(self, message: Message) -> str:
        body = one_line(message.get("body") or "")
        when = self.time(message.get("sendAt") or message.get("createdAt"))
        attachment = message.get("attachment")
        note = f" {attachment_note(attachment)}" if attachment else ""
        return f"#{message['id']} at {when}: {body}{note}"

    def chats(self, chats: list[Chat]) -> list[str]:
        if not chats:
            return ["no chats yet"]
        width = max(len("CHAT"), *(len(chat_title(chat)) for chat in chats))
        id_width = max(len("ID"), *(len(str(chat["id"])) for chat in chats))
        lines = [f"{'ID':>{id_width}}  {'CHAT':<{width}}  {'TYPE':<7}  UNREAD  LAST MESSAGE"]
        for chat in chats:
            last = chat.get("lastMessage")
            preview = ""
            if last:
                text = "(deleted)" if last.get("deleted") else one_line(last.get("body") or "")
                if not text and last.get("attachment"):
                    text = "[file]"
                preview = f"{self.time(last.get('createdAt'))} {author_name(last)}: {shorten(text)}"
            unread = chat.get("unreadCount") or 0
            lines.append(
                f"{chat['id']:>{id_width}}  {chat_title(chat):<{width}}  {chat['type']:<7}  "
                f"{unread if unread else '-':>6}  {preview}".rstrip()
            )
        return lines

    def missed(self, chat: UnreadChat, shown: list[Message]) -> list[str]:
        """One unread chat: its count, the messages not shown before, and how many were."""
        title = chat.get("title") or f"chat {chat['chatId']}"
        lines = [f"{title}: {chat['unreadCount']} unread"]
        lines.extend(self.messages(shown, indent="  "))
        hidden = len(chat["messages"]) - len(shown)
        if hidden:
            lines.append(f"  ({hidden} shown before; `missed --all` repeats them)")
        return lines

    def event(self, kind: str, data: Any, *, label: str | None, verbose: bool) -> str | None:
        """A line for a live event other than a new message; None when it is not shown."""
        prefix = f"[{label}] " if label else ""
        if kind == "message.updated" and isinstance(data, dict):
            body = one_line(str(data.get("body") or ""))
            return f"{prefix}* {username_in(data)} edited a message: {body}"
        if kind == "message.deleted":
            return f"{prefix}* a message was deleted"
        if kind == "comment.created" and isinstance(data, dict):
            comment = data.get("comment", data)
            body = one_line(str(comment.get("body") or ""))
            return f"{prefix}* {username_in(comment)} commented on a message: {body}"
        if kind == "chat.member_joined":
            return f"{prefix}* {username_in(data)} joined"
        if kind == "chat.member_left":
            return f"{prefix}* {username_in(data)} left"
        if kind == "chat.join_requested":
            return f"{prefix}* {username_in(data)} asks to join"
        if kind == "chat.join_decided" and isinstance(data, dict):
            status = data.get("status") or data.get("joinRequest", {}).get("status") or "decided"
            return f"{prefix}* the join request was {status}"
        if kind == "error" and isinstance(data, dict):
            return f"! the server says: {data.get('message', 'an error')}"
        if verbose and kind == "presence" and isinstance(data, dict):
            state = "online" if data.get("online") else "offline"
            return f"* {username_in(data)} is {state}"
        if verbose and kind == "typing":
            return f"{prefix}* {username_in(data)} is typing"
        return None
