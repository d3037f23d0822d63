"""Notifications: built from the events the services publish, kept per user, delivered live.

chat_service owns them because it holds what they need at both ends: the consumer group that
already reads auth's and posts' streams (now social's and chat's own too), the copy of users
that names the actors, and every open socket with the event log that brings a user's events
to each of them on any replica, Redis failing or not. An event's notifications are stored in
one statement (migration 011), whose transaction records the source event as handled
(notification_events, for the consumer group "notifications") and each notification's live
event in the log, so a stream that delivers an event twice stores it once, and a stored
notification reaches the user's sockets even when the replica that stored it dies before it
published. No write waits for any of it: the write only adds its event to its outbox (in the
statement or transaction it already runs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from chat_service import compose
from chat_service.live.publisher import Publisher
from chat_service.live.wire import Logged, UserEvent
from chat_service.queries import messages as q_messages
from chat_service.queries import notifications as q_notifications
from chat_service.queries import users as q_users
from chat_service.users import Directory
from shared.events import Event, record_event
from shared.events.consumer import AfterCommit, Handler, MarksHandled
from shared.web.errors import NotFound, ValidationFailed
from shared.web.identity import Caller
from shared.web.timefmt import iso

JSON = dict[str, Any]

TYPES = (
    "followed",
    "favorited",
    "commented",
    "mentioned",
    "chat.invited",
    "chat.join_decided",
    "moderation",
)
# The same actor's same action on the same thing within this many seconds is one notification.
FOLD_SECONDS = 3600
# `@name` as a word of its own: not inside an e-mail address or another word.
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_-]{1,64})\b")
MAX_MENTIONS = 20

# Events chat records in its own outbox for notifications (chat_service's writes).
CHAT_MEMBER_ADDED = "chat.member_added"
CHAT_JOIN_DECIDED = "chat.join_decided"
MESSAGE_MENTIONED = "message.mentioned"
MODERATION_ACTION = "moderation.action"
# Where the consumer group "notifications" records the events it handled (migration 010).
HANDLED_TABLE = "notification_events"


def mentioned_names(text: str) -> list[str]:
    """The distinct names a text mentions (`@name`), in order, at most MAX_MENTIONS."""
    names: dict[str, str] = {}
    for match in _MENTION.finditer(text):
        names.setdefault(match.group(1).lower(), match.group(1))
    return list(names.values())[:MAX_MENTIONS]


async def record_mention(
    connection: asyncpg.Connection, message: Mapping[str, Any], author_id: int, names: list[str]
) -> None:
    """Tells, in the transaction that delivers a message, whom it names: the consumer
    notifies those of them who are members of its chat."""
    data = {
        "chatId": message["chat_id"],
        "messageId": message["id"],
        "seq": message["seq"],
        "authorId": author_id,
        "usernames": names,
    }
    await record_event(connection, MESSAGE_MENTIONED, data)


def notification(row: Mapping[str, Any]) -> JSON:
    """A notification as API.md shows it."""
    actor = (
        compose.person(row["actor_username"], row["actor_image"])
        if row["actor_username"] is not None
        else None
    )
    article = (
        {"slug": row["article_slug"], "title": row["article_title"]}
        if row["article_slug"] is not None
        else None
    )
    comment = (
        {"id": row["comment_id"], "body": row["comment_body"]}
        if row["comment_id"] is not None
        else None
    )
    chat = (
        {"id": row["chat_id"], "title": row["chat_title"]} if row["chat_id"] is not None else None
    )
    message = (
        {"id": row["message_id"], "seq": row["message_seq"]}
        if row["message_id"] is not None
        else None
    )
    return {
        "id": row["id"],
        "type": row["type"],
        "actor": actor,
        "article": article,
        "comment": comment,
        "chat": chat,
        "message": message,
        "reason": row["reason"],
        "createdAt": iso(row["created_at"]),
        "read": row["read"],
    }


def parse_types(text: str | None) -> list[str] | None:
    """The `types` filter: comma-separated names of TYPES; None for all."""
    if text is None or not text.strip():
        return None
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(kinds) - set(TYPES))
    if unknown:
        raise ValidationFailed(
            fields={"types": [f"unknown type {unknown[0]!r}; known: {', '.join(TYPES)}"]}
        )
    return kinds


class Notifications:
    def __init__(
        self, pool: asyncpg.Pool, publisher: Publisher, users: Directory, ttl: int
    ) -> None:
        self.pool = pool
        self.publisher = publisher
        self.users = users
        self.ttl = ttl
        # How a user's event is recorded in the live log: its scope and its payload's head
        # line (the statement that stores a notification records its live event itself).
        head = UserEvent(0, "")
        self.live_head = (publisher.wire.scope_of(head)[0], publisher.wire.encode(head)[1])

    # The routes.

    async def page(self, caller: Caller, before: int | None, limit: int, types: str | None) -> JSON:
        kinds = parse_types(types)
        async with self.pool.acquire() as connection:
            rows = await q_notifications.page(connection, caller.id, before, limit + 1, kinds)
            unread = await q_notifications.unread_count(connection, caller.id)
        shown = rows[:limit]
        return {
            "notifications": [notification(row) for row in shown],
            "unreadCount": unread,
            "nextCursor": shown[-1]["id"] if len(rows) > limit else None,
        }

    async def unread_count(self, caller: Caller) -> int:
        async with self.pool.acquire() as connection:
            return await q_notifications.unread_count(connection, caller.id)

    async def mark_read(self, caller: Caller, up_to: int | None, ids: list[int] | None) -> int:
        """Marks as read; every device of the user hears `notification.read` with the count,
        so the badges agree (a mark that changed nothing tells nobody)."""
        async with self.pool.acquire() as connection, connection.transaction():
            changed = await q_notifications.mark_read(connection, caller.id, up_to, ids)
            unread = await q_notifications.unread_count(connection, caller.id)
        if changed:
            data = {"unreadCount": unread, "upTo": up_to, "ids": ids}
            await self.publisher.user_event(caller.id, compose.event("notification.read", data))
        return unread

    async def prune(self, batch: int) -> int:
        async with self.pool.acquire() as connection:
            return await q_notifications.prune(connection, self.ttl, batch)

    # Building them from events.

    async def _store(
        self,
        connection: asyncpg.Connection,
        event: Event,
        actor_id: int | None,
        notifications: Sequence[JSON],
    ) -> AfterCommit | None:
        """Stores an event's notifications (never the actor's own) with their live events and
        the event as handled, in one statement (committed at once, or with the caller's
        transaction when there is one); answers what to publish after it."""
        recipients: dict[tuple[int, str], JSON] = {}
        for item in notifications:
            if item["recipient_id"] != actor_id:
                recipients.setdefault((item["recipient_id"], item["type"]), item)
        if not recipients:
            return None  # nothing to store, so nothing to record either
        items, occurred = list(recipients.values()), _occurred_at(event)
        store = q_notifications.store
        args = (items, occurred, FOLD_SECONDS, self.live_head)
        rows = await store(connection, event.id, event.type, actor_id, False, *args)
        if rows and rows[0]["live_event_id"] is None and actor_id is not None:
            async with connection.transaction():
                await self._know(connection, [actor_id])  # rare: see _know
            rows = await store(connection, event.id, event.type, actor_id, True, *args)
        return self._after(
            [
                Logged(row["live_event_id"], UserEvent(row["recipient"], row["event_text"]))
                for row in rows
            ]
        )

    async def _know(self, connection: asyncpg.Connection, user_ids: Sequence[int]) -> None:
        """Makes sure chat's copy of users holds these accounts, so that a notification names
        its actor from the first: the account's own event comes on auth's stream, which
        another replica may be handling at this very moment. Only an account chat lacks
        costs a call to auth (a failure retries the event later)."""
        known = {row["id"] for row in await q_users.users_by_ids(connection, user_ids)}
        for user_id in set(user_ids) - known:
            try:
                user = await self.users.auth.by_id(user_id)
            except NotFound:
                continue  # deleted meanwhile: its notifications go with it
            await self.users.register(connection, int(user["id"]), user["username"], user["image"])

    async def _named(self, connection: asyncpg.Connection, names: Sequence[str]) -> list[int]:
        """The accounts these names are; a name chat has not heard of is asked of auth."""
        found = await q_users.users_by_names(connection, names)
        for name in names:
            if name.lower() in found:
                continue
            user = await self.users.auth.by_username(name)
            if user is not None:
                async with connection.transaction():
                    await self.users.register(
                        connection, int(user["id"]), user["username"], user["image"]
                    )
                found[name.lower()] = int(user["id"])
        return list(found.values())

    def _after(self, published: list[Logged]) -> AfterCommit | None:
        if not published:
            return None

        async def after_commit() -> None:
            for message in published:
                await self.publisher.publish(message)

        return after_commit

    def handlers(self) -> dict[str, Handler | MarksHandled]:
        """The handlers by event type; chat's consumer runs them beside its own. Those that
        notify record their event as handled themselves, in the statement that stores."""

        def one(recipient: int, kind: str, **fields: Any) -> list[JSON]:
            return [{"recipient_id": recipient, "type": kind, **fields}]

        async def followed(connection: asyncpg.Connection, event: Event) -> AfterCommit | None:
            follower, followee = int(event.data["followerId"]), int(event.data["followeeId"])
            notified = one(followee, "followed", fold_key=f"f:{follower}")
            return await self._store(connection, event, follower, notified)

        async def favorited(connection: asyncpg.Connection, event: Event) -> AfterCommit | None:
            data = event.data
            if data.get("authorId") is None:
                return None  # told by a release that did not name the recipe's author
            liker, article = int(data["userId"]), int(data["articleId"])
            notified = one(
                int(data["authorId"]),
                "favorited",
                fold_key=f"l:{liker}:{article}",
                **_article(data, article),
            )
            return await self._store(connection, event, liker, notified)

        async def commented(connection: asyncpg.Connection, event: Event) -> AfterCommit | None:
            data = event.data
            author, article_author = int(data["authorId"]), int(data["articleAuthorId"])
            common = {
                **_article(data, int(data["articleId"])),
                "comment_id": int(data["id"]),
                "comment_body": data["body"],
            }
            notified = one(article_author, "commented", **common)
            names = mentioned_names(data["body"])
            if names:
                # The recipe's author already hears of the comment.
                named = await self._named(connection, names)
                notified += [
                    {"recipient_id": user, "type": "mentioned", **common}
                    for user in named
                    if user != article_author
                ]
            return await self._store(connection, event, author, notified)

        async def mentioned(connection: asyncpg.Connection, event: Event) -> AfterCommit | None:
            """A chat message's mentions reach its members only: a mention cannot show a chat
            to someone who cannot read it. The message is held while they are stored, so that
            its deletion, which removes them, waits for them (one transaction)."""
            data = event.data
            chat_id = int(data["chatId"])
            async with connection.transaction():
                if not await q_messages.lock_shown_message(connection, int(data["messageId"])):
                    return None  # deleted or expired before its mentions were handled
                members = await q_notifications.members_named(
                    connection, chat_id, [str(name) for name in data["usernames"]]
                )
                message = {
                    "chat_id": chat_id,
                    "message_id": int(data["messageId"]),
                    "message_seq": int(data["seq"]),
                }
                notified = [
                    {"recipient_id": user, "type": "mentioned", **message} for user in members
                ]
                return await self._store(connection, event, int(data["authorId"]), notified)

        async def invited(connection: asyncpg.Connection, event: Event) -> AfterCommit | None:
            data = event.data
            notified = one(int(data["userId"]), "chat.invited", chat_id=int(data["chatId"]))
            return await self._store(connection, event, int(data["byId"]), notified)

        async def join_decided(connection: asyncpg.Connection, event: Event) -> AfterCommit | None:
            data = event.data
            notified = one(
                int(data["userId"]),
                "chat.join_decided",
                chat_id=int(data["chatId"]),
                reason=str(data["status"]),
            )
            return await self._store(connection, event, int(data["byId"]), notified)

        async def moderated(connection: asyncpg.Connection, event: Event) -> AfterCommit | None:
            """A moderator removed something of the author's, or banned them: the author is
            told why, without the moderator's name. The removed thing is named as it was."""
            data = event.data
            if data.get("authorId") is None:
                return None
            fields: JSON = {"reason": data.get("reason")}
            if data.get("slug") is not None:
                fields["article_slug"] = data["slug"]
                fields["article_title"] = data.get("title")
            if data.get("commentId") is not None:
                fields["comment_id"] = int(data["commentId"])
                fields["comment_body"] = data.get("body")
            if data.get("chatId") is not None:
                fields["chat_id"] = int(data["chatId"])
            if data.get("messageId") is not None:
                fields["message_id"] = int(data["messageId"])
                fields["message_seq"] = data.get("seq")
            notified = one(int(data["authorId"]), "moderation", **fields)
            return await self._store(connection, event, None, notified)

        async def comment_deleted(connection: asyncpg.Connection, event: Event) -> None:
            await q_notifications.delete_of_comment(connection, int(event.data["id"]))

        async def article_deleted(connection: asyncpg.Connection, event: Event) -> None:
            await q_notifications.delete_of_article(connection, int(event.data["id"]))

        async def article_updated(connection: asyncpg.Connection, event: Event) -> None:
            data = event.data
            await q_notifications.rename_article(
                connection, int(data["id"]), str(data["slug"]), data.get("title")
            )

        async def user_deleted(connection: asyncpg.Connection, event: Event) -> None:
            await q_notifications.delete_of_user(connection, int(event.data["id"]))

        return {
            "follow.added": MarksHandled(followed),
            "like.added": MarksHandled(favorited),
            "comment.created": MarksHandled(commented),
            "comment.deleted": comment_deleted,
            "article.deleted": article_deleted,
            "article.updated": article_updated,
            MESSAGE_MENTIONED: MarksHandled(mentioned),
            CHAT_MEMBER_ADDED: MarksHandled(invited),
            CHAT_JOIN_DECIDED: MarksHandled(join_decided),
            MODERATION_ACTION: MarksHandled(moderated),
            "user.deleted": user_deleted,
        }


def partition(event: Event) -> str | None:
    """The lane of an event in the consumer (shared/events' Partition): the events about one
    recipe, one chat, one followed person or one moderated author are handled in order; a
    deleted account waits for everything before it and goes alone."""
    data = event.data
    match event.type:
        case "like.added" | "comment.created" | "comment.deleted":
            return f"article:{data.get('articleId')}"
        case "article.deleted" | "article.updated":
            return f"article:{data['id']}"
        case "follow.added":
            return f"user:{data['followeeId']}"
        case "message.mentioned" | "chat.member_added" | "chat.join_decided":
            return f"chat:{data['chatId']}"
        case "moderation.action":
            return f"author:{data.get('authorId')}"
        case "user.deleted":
            return None
    return "other"  # nothing to do with notifications: acknowledged in passing


def _article(data: Mapping[str, Any], article_id: int) -> JSON:
    return {"article_id": article_id, "article_slug": data["slug"], "article_title": data["title"]}


def _occurred_at(event: Event) -> datetime:
    try:
        when = datetime.fromisoformat(event.occurred_at)
    except ValueError:
        return datetime.now(UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
