"""How chats, messages and live events look in the terminal: one line each, plain ASCII.

One line per message keeps the output readable in any terminal and easy to grep; times are
shown in the local time zone, with the date only when it is not today.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from chat_client.models import JSON, Attachment, Chat, Message, UnreadChat, chat_title

PREVIEW_LENGTH = 40
# A time as the API writes it (UTC, `Z`), inside a server's sentence.
# A wait as the server words it ("try again in 86399 s").
SECONDS_WAIT = re.compile(r"\bin (\d+) s\b")
API_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)")


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
    """Member events name the user either flat or as a nested user object; a deleted
    account is named as such."""
    if not isinstance(data, dict):
        return "someone"
    if isinstance(data.get("username"), str):
        return str(data["username"])
    for key in ("user", "author", "member"):
        if key in data and data[key] is None:
            return "a deleted account"
        nested = data.get(key)
        if isinstance(nested, dict):
            if isinstance(nested.get("username"), str):
                return str(nested["username"])
            if "username" in nested:
                return "a deleted account"
    return "someone"


def person(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("username"), str):
        return str(value["username"])
    return "a deleted account" if value is None or isinstance(value, dict) else str(value)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def duration(seconds: int) -> str:
    """A number of seconds as people say it: 90 -> 1 min 30 s, 7200 -> 2 h."""
    parts = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if seconds >= size:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts[:2]) or "0 s"


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
        head = (
            f"{prefix}#{message['id']} {self.time(message.get('createdAt'))} "
            f"{author_name(message)}:"
        )
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
            on = f"#{comment['messageId']}" if comment.get("messageId") else "a message"
            return f"{prefix}* {username_in(comment)} commented on {on}: {body}"
        if kind == "chat.member_joined":
            return f"{prefix}* {username_in(data)} joined"
        if kind == "chat.member_left":
            return f"{prefix}* {username_in(data)} left"
        if kind == "chat.deleted":
            return f"{prefix}* this chat was deleted"
        if kind == "chat.join_requested" and isinstance(data, dict):
            return (
                f"{prefix}* {username_in(data)} asks to join (request {data.get('id')}; "
                f"`approve {data.get('chatId')} {data.get('id')}` lets them in)"
            )
        if kind == "chat.join_decided" and isinstance(data, dict):
            status = data.get("status") or data.get("joinRequest", {}).get("status") or "decided"
            return f"{prefix}* your request to join was {status}"
        if kind == "moderation.banned" and isinstance(data, dict):
            return (
                f"! you are banned from writing to chats until {self.time(data.get('until'))}"
                f" ({one_line(str(data.get('reason') or 'no reason given'))})"
            )
        if kind == "notification.created" and isinstance(data, dict):
            return f"* {self.notification_text(data)}"
        if kind == "error" and isinstance(data, dict):
            return f"! the server says: {self.local_times(str(data.get('message', 'an error')))}"
        if verbose and kind == "presence" and isinstance(data, dict):
            state = "online" if data.get("online") else "offline"
            return f"{prefix}* {username_in(data)} is {state}"
        if verbose and kind == "typing":
            return f"{prefix}* {username_in(data)} is typing"
        return None

    def local_times(self, text: str) -> str:
        """The API's UTC times in a sentence as local times, like everywhere else, and long
        waits in hours and minutes rather than seconds."""
        text = API_TIME.sub(lambda found: self.time(found.group(0)), text)
        return SECONDS_WAIT.sub(lambda found: f"in {duration(int(found.group(1)))}", text)

    def members(self, chat: JSON) -> list[str]:
        lines = []
        for member in chat.get("members", []):
            role = " (owner)" if member.get("role") == "owner" else ""
            state = "online" if member.get("online") else "offline"
            lines.append(f"  {member['username']}{role}, {state}")
        return lines

    def chat_details(self, chat: JSON) -> list[str]:
        kind = "private group" if chat.get("private") else "public group"
        if chat["type"] != "group":
            kind = f"{chat['type']} chat"
        owner = person(chat["owner"]) if chat.get("owner") else "nobody"
        lines = [f"{chat_title(chat)} (chat {chat['id']}): {kind}, owner {owner}"]  # type: ignore[arg-type]
        if chat.get("description"):
            lines.append(f"  {one_line(str(chat['description']))}")
        ttl = chat.get("messageTtlSeconds")
        lines.append(
            f"  messages expire after {duration(int(ttl))}" if ttl else "  messages are kept"
        )
        members = chat.get("members", [])
        lines.append(f"  {plural(len(members), 'member')}:")
        lines.extend("  " + line for line in self.members(chat))
        return lines

    def invite(self, invite: JSON) -> str:
        """A listed link: its id (the code itself is shown once, when it is made)."""
        by = f", made by {person(invite['createdBy'])}" if invite.get("createdBy") else ""
        return (
            f"{invite.get('code') or invite.get('id')}  made {self.time(invite.get('createdAt'))}"
            f"{by}, expires {self.time(invite.get('expiresAt'))}"
        )

    def join_request(self, request: JSON) -> str:
        return (
            f"request {request['id']}: {person(request.get('user'))} asked at "
            f"{self.time(request.get('createdAt'))} ({request.get('status', 'pending')})"
        )

    def comment(self, comment: JSON) -> str:
        return (
            f"  {self.time(comment.get('createdAt'))} {person(comment.get('author'))}: "
            f"{one_line(str(comment.get('body') or ''))}"
        )

    def status(self, status: JSON) -> list[str]:
        budget = status.get("sendBudget", {})
        lines = []
        if budget.get("limit"):
            reserved = budget.get("reserved") or 0
            note = f" ({reserved} reserved by scheduled messages)" if reserved else ""
            lines.append(
                f"General: {budget.get('remaining')} of {budget['limit']} messages left "
                f"this {duration(int(budget.get('periodSeconds') or 3600))}{note}, "
                f"resets at {self.time(budget.get('resetsAt'))}"
            )
        else:
            lines.append("General: no send limit")
        bans = status.get("bans") or []
        for ban in bans:
            lines.append(
                f"banned from writing to chats until {self.time(ban.get('endsAt'))}: "
                f"{one_line(str(ban.get('reason') or ''))}"
            )
        if not bans:
            lines.append("not banned")
        lines.append(f"{plural(int(status.get('devices') or 0), 'device')} connected live")
        unread = [chat for chat in status.get("chats", []) if chat.get("unreadCount")]
        for chat in unread:
            title = chat.get("title") or f"chat {chat['chatId']}"
            lines.append(f"{title}: {chat['unreadCount']} unread")
        if not unread:
            lines.append("nothing unread")
        return lines

    def notification_text(self, note: JSON) -> str:
        """What happened, in a sentence."""
        actor = person(note.get("actor")) if note.get("actor") else "someone"
        article = note.get("article") or {}
        chat = note.get("chat") or {}
        recipe = f'your recipe "{article.get("title")}"' if article else "your recipe"
        where = chat.get("title") or (f"chat {chat.get('id')}" if chat else "a chat")
        kind = note.get("type")
        if kind == "followed":
            return f"{actor} follows you"
        if kind == "favorited":
            return f"{actor} likes {recipe}"
        if kind == "commented":
            body = one_line(str((note.get("comment") or {}).get("body") or ""))
            return f"{actor} commented on {recipe}: {shorten(body)}"
        if kind == "mentioned":
            if chat:
                message = note.get("message") or {}
                return f"{actor} mentioned you in {where} (message #{message.get('id')})"
            return f'{actor} mentioned you in a comment on "{article.get("title", "a recipe")}"'
        if kind == "chat.invited":
            return f"{actor} added you to {where}"
        if kind == "chat.join_decided":
            verdict = one_line(str(note.get("reason") or "decided"))
            return f"your request to join {where} was {verdict}"
        if kind == "moderation":
            reason = one_line(str(note.get("reason") or "no reason given"))
            return f"a moderator acted on something of yours: {reason}"
        return f"{kind} from {actor}"

    def notification(self, note: JSON) -> str:
        mark = " " if note.get("read") else "*"
        return (
            f"{mark} {note['id']:>5}  {self.time(note.get('createdAt'))}  "
            f"{self.notification_text(note)}"
        )
