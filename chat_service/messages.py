"""Messages: sending with the chat's next seq, history by cursor, edits, tombstones, read
markers and unread counts, and the websocket hello. Every change is stored first, then
published once per chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from chat_service import compose
from chat_service.attachments import Attachments
from chat_service.budget import SendBudget
from chat_service.chats import Chats
from chat_service.live.presence import Presence
from chat_service.live.publisher import Publisher
from chat_service.moderation import Moderation
from chat_service.notifications import MODERATION_ACTION, mentioned_names, record_mention
from chat_service.queries import attachments as q_attachments
from chat_service.queries import chats as q_chats
from chat_service.queries import comments as q_comments
from chat_service.queries import messages as q_messages
from chat_service.queries import moderation as q_moderation
from chat_service.queries import notifications as q_notifications
from chat_service.queries import scheduled as q_scheduled
from chat_service.settings import ChatSettings
from chat_service.users import first_use
from shared.events import record_event
from shared.web.errors import Forbidden, NotFound, ValidationFailed
from shared.web.idempotency import Seal, no_seal
from shared.web.identity import Caller

JSON = dict[str, Any]


def message_not_found() -> NotFound:
    return NotFound("message not found")


class Messages:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: ChatSettings,
        chats: Chats,
        publisher: Publisher,
        *,
        budget: SendBudget,
        moderation: Moderation,
        attachments: Attachments,
        presence: Presence,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.chats = chats
        self.users = chats.users
        self.publisher = publisher
        self.budget = budget
        self.moderation = moderation
        self.attachments = attachments
        self.presence = presence

    @first_use
    async def history(self, caller: Caller, chat_id: int, query: JSON) -> list[JSON]:
        """One page, oldest to newest: before or after a message id, after a seq, or the last."""
        limit = query.get("limit") or self.settings.history_limit
        cursors = [name for name in ("before", "after", "afterSeq") if name in query]
        if len(cursors) > 1:
            raise ValidationFailed(
                "use one of before, after and afterSeq",
                fields={name: ["cannot be combined with another cursor"] for name in cursors},
            )
        async with self.pool.acquire() as connection:
            await self.chats.member(connection, chat_id, caller)
            if "afterSeq" in query:
                rows = await q_messages.messages_after(
                    connection, chat_id, query["afterSeq"], limit
                )
            elif cursors:
                name = cursors[0]
                seq = await q_messages.seq_of(connection, chat_id, query[name])
                if seq is None:
                    raise NotFound(f"message {query[name]} not found in this chat")
                if name == "after":
                    rows = await q_messages.messages_after(connection, chat_id, seq, limit)
                else:
                    rows = await q_messages.messages_before(connection, chat_id, seq, limit)
            else:
                rows = await q_messages.messages_before(connection, chat_id, None, limit)
        return [compose.message(row) for row in rows]

    def _send_at(self, fields: JSON) -> datetime | None:
        send_at: datetime | None = fields.get("sendAt")
        if send_at is None:
            return None
        now = datetime.now(UTC)
        if send_at <= now:
            raise ValidationFailed(fields={"sendAt": ["must be in the future"]})
        if send_at > now + timedelta(seconds=self.settings.schedule_max_ahead):
            limit = self.settings.schedule_max_ahead
            raise ValidationFailed(fields={"sendAt": [f"must be at most {limit} s ahead"]})
        return send_at

    @first_use
    async def send(self, caller: Caller, chat_id: int, fields: JSON, seal: Seal = no_seal) -> JSON:
        """Sends now, or schedules for `sendAt`. A ban refuses it (403); in the general chat
        it takes one message of the period's budget (429 beyond)."""
        send_at = self._send_at(fields)
        async with self.pool.acquire() as connection, connection.transaction():
            chat = await self.chats.member(connection, chat_id, caller)
            await self.moderation.check_not_banned(connection, caller.id)
            reply_to = fields.get("replyTo")
            if (
                reply_to is not None
                and await q_messages.seq_of(connection, chat_id, reply_to) is None
            ):
                raise ValidationFailed(fields={"replyTo": ["is not a message of this chat"]})
            attachment = fields.get("attachmentId")
            if attachment is not None and not await q_attachments.claim_attachment(
                connection, attachment, caller.id
            ):
                raise ValidationFailed(fields={"attachmentId": ["is not an upload of yours"]})
            # The place is taken in the period of delivery; a failure below rolls it back.
            period = (
                await self.budget.take(connection, caller.id, send_at)
                if chat["kind"] == "general"
                else None
            )
            body = fields.get("body") or ""
            if send_at is not None:
                row = await q_scheduled.schedule_message(
                    connection, chat_id, caller.id, body, reply_to, attachment, send_at, period
                )
                scheduled = compose.message(row)
                await seal(connection, 201, scheduled)
                return scheduled
            row = await q_messages.insert_message(
                connection,
                chat_id,
                caller.id,
                body,
                reply_to,
                self.settings.general_ttl,
                attachment,
            )
            # Writing is reading: the sender's own message is never unread to them.
            await q_messages.advance_read(connection, chat_id, caller.id, row["seq"])
            # Only a message that names someone pays for an event (their notification).
            mentions = mentioned_names(body)
            if mentions:
                await record_mention(connection, row, caller.id, mentions)
            message = compose.message(row)
            await seal(connection, 201, message)
        await self.publisher.message(chat_id, row["seq"], compose.event("message.created", message))
        if mentions:
            self.publisher.outbox_written()
        return message

    @first_use
    async def scheduled(self, caller: Caller, chat_id: int) -> list[JSON]:
        """My messages in the chat waiting for their time, soonest first."""
        async with self.pool.acquire() as connection:
            await self.chats.member(connection, chat_id, caller)
            rows = await q_scheduled.scheduled_of(connection, chat_id, caller.id)
        return [compose.message(row) for row in rows]

    @first_use
    async def cancel(self, caller: Caller, chat_id: int, message_id: int) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await self.chats.member(connection, chat_id, caller)
            found, attachment, period = await q_scheduled.cancel_scheduled(
                connection, chat_id, caller.id, message_id
            )
            if not found:
                raise NotFound("scheduled message not found (it may have been sent)")
            await self.budget.give_back(connection, caller.id, period)
            gone = await q_attachments.unreferenced(connection, [attachment]) if attachment else []
        await self.attachments.remove_files(gone)

    async def _own(
        self, connection: asyncpg.Connection, chat_id: int, message_id: int, caller: Caller
    ) -> tuple[asyncpg.Record, asyncpg.Record]:
        chat = await self.chats.member(connection, chat_id, caller)
        row = await q_messages.message_in_chat(connection, chat_id, message_id)
        if row is None:
            raise message_not_found()
        return chat, row

    @first_use
    async def edit(self, caller: Caller, chat_id: int, message_id: int, body: str) -> JSON:
        async with self.pool.acquire() as connection, connection.transaction():
            chat, row = await self._own(connection, chat_id, message_id, caller)
            if row["author_id"] != caller.id:
                raise Forbidden("only its author can edit a message")
            if row["deleted"]:
                raise message_not_found()
            await self.moderation.check_not_banned(connection, caller.id)
            # An edit is broadcast like a message: in the general chat it takes a place too.
            if chat["kind"] == "general":
                await self.budget.take(connection, caller.id)
            row = await q_messages.edit_message(connection, chat_id, message_id, body)
        message = compose.message(row)
        await self.publisher.chat_event(chat_id, compose.event("message.updated", message))
        return message

    @first_use
    async def delete(
        self, caller: Caller, chat_id: int, message_id: int, reason: str | None = None
    ) -> None:
        """The author or the chat's owner turns a message into a tombstone (seq and id stay);
        so does a moderator in the general chat, and that is logged with its reason."""
        async with self.pool.acquire() as connection, connection.transaction():
            chat, row = await self._own(connection, chat_id, message_id, caller)
            own = row["author_id"] == caller.id or chat["role"] == "owner"
            moderated = not own and caller.moderates and chat["kind"] == "general"
            if not own and not moderated:
                raise Forbidden("only its author or the chat's owner can delete a message")
            if row["deleted"]:
                return
            if moderated:
                target = f"message:{chat_id}/{message_id}"
                await q_moderation.log_action(
                    connection, caller.id, caller.username, "chat", "message.delete", target, reason
                )
                # Its author is told why (a notification).
                told = {
                    "authorId": row["author_id"],
                    "moderatorId": caller.id,
                    "moderator": caller.username,
                    "service": "chat",
                    "action": "message.delete",
                    "target": target,
                    "reason": reason,
                    "chatId": chat_id,
                    "messageId": message_id,
                    "seq": row["seq"],
                }
                await record_event(connection, MODERATION_ACTION, told)
            attachment = await q_messages.tombstone_message(connection, chat_id, message_id)
            # Its mentions go with it (whatever its body says now: an edit may have changed it).
            await q_notifications.delete_mentions_in_messages(connection, [message_id])
            gone = await q_attachments.unreferenced(connection, [attachment]) if attachment else []
        await self.attachments.remove_files(gone)
        if moderated:
            self.publisher.outbox_written()
        data = {"chatId": chat_id, "id": message_id, "seq": row["seq"]}
        await self.publisher.chat_event(chat_id, compose.event("message.deleted", data))

    # Read markers and unread messages.

    @first_use
    async def mark_read(self, caller: Caller, chat_id: int, seq: int) -> JSON:
        async with self.pool.acquire() as connection, connection.transaction():
            await self.chats.member(connection, chat_id, caller)
            read_seq = await q_messages.advance_read(connection, chat_id, caller.id, seq)
            unread = await q_messages.unread_count(connection, chat_id, caller.id)
        marker = {"chatId": chat_id, "seq": read_seq, "unreadCount": unread}
        # Every device of the reader, on whatever replica, shows the same count.
        await self.publisher.user_event(caller.id, compose.event("chat.read", marker))
        return marker

    async def unread(self, caller: Caller, limit: int) -> list[JSON]:
        """Per chat with unread messages, the first `limit` of them after the marker."""
        async with self.pool.acquire() as connection:
            rows = await q_chats.chats_of(connection, caller.id, 10_000, 0)
            result = []
            for row in rows:
                if row["unread_count"] == 0:
                    continue
                messages = await q_messages.messages_after(
                    connection, row["id"], row["read_seq"], limit
                )
                chat = compose.chat(row, self.settings.general_ttl)
                result.append(
                    {
                        "chatId": row["id"],
                        "title": chat["title"],
                        "type": row["kind"],
                        "lastSeq": row["last_seq"],
                        "readSeq": row["read_seq"],
                        "unreadCount": row["unread_count"],
                        "messages": [compose.message(m) for m in messages],
                    }
                )
        return result

    # Comments on messages.

    @first_use
    async def comments(
        self, caller: Caller, chat_id: int, message_id: int, limit: int, offset: int
    ) -> list[JSON]:
        async with self.pool.acquire() as connection:
            _chat, message = await self._own(connection, chat_id, message_id, caller)
            if message["deleted"]:
                raise message_not_found()  # comments go with their message
            rows = await q_comments.comments_of(connection, message_id, limit, offset)
        return [compose.comment(row) for row in rows]

    @first_use
    async def comment(self, caller: Caller, chat_id: int, message_id: int, body: str) -> JSON:
        async with self.pool.acquire() as connection, connection.transaction():
            chat, message = await self._own(connection, chat_id, message_id, caller)
            if message["deleted"]:
                raise message_not_found()
            await self.moderation.check_not_banned(connection, caller.id)
            if chat["kind"] == "general":
                await self.budget.take(connection, caller.id)
            comment = compose.comment(
                await q_comments.insert_comment(connection, message_id, caller.id, body)
            )
        data = {
            "chatId": chat_id,
            "seq": message["seq"],
            "messageId": message_id,
            "comment": comment,
        }
        await self.publisher.chat_event(chat_id, compose.event("comment.created", data))
        return comment

    # A user's standing.

    async def status(self, caller: Caller) -> JSON:
        await self.users.ensure(caller)
        async with self.pool.acquire() as connection:
            bans = await self.moderation.bans_of(connection, caller.id)
            rows = await q_chats.chats_of(connection, caller.id, 10_000, 0)
            budget = await self.budget.budget(connection, caller.id)
        general_ttl = self.settings.general_ttl
        chats = [
            {
                "chatId": row["id"],
                "title": compose.chat(row, general_ttl)["title"],
                "unreadCount": row["unread_count"],
            }
            for row in rows
        ]
        return {
            "bans": bans,
            "sendBudget": budget.as_json(self.settings.send_period),
            "devices": await self.presence.devices(caller.id),
            "chats": chats,
        }

    # The websocket hello.

    async def hello(self, user_id: int) -> tuple[dict[int, int], str]:
        """Per chat its last seq and my unread count, and the last messages of the general
        chat; returns the seq each chat stands at too."""
        # One snapshot for both reads, so the general messages shown are exactly those up
        # to the seq reported for the general chat.
        async with (
            self.pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            positions = await q_chats.positions_of(connection, user_id)
            general = [p["chat_id"] for p in positions if p["kind"] == "general"]
            recent = (
                await q_messages.messages_before(
                    connection, general[0], None, self.settings.history_limit
                )
                if general
                else []
            )
        chats = [
            {"chatId": p["chat_id"], "lastSeq": p["last_seq"], "unreadCount": p["unread_count"]}
            for p in positions
        ]
        hello = compose.event(
            "hello", {"general": [compose.message(row) for row in recent], "chats": chats}
        )
        return {p["chat_id"]: p["last_seq"] for p in positions}, hello
