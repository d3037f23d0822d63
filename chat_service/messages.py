"""Messages: sending with the chat's next seq, history by cursor, edits, tombstones, read
markers and unread counts, and the websocket hello. Every change is stored first, then
published once per chat."""

from __future__ import annotations

from typing import Any

import asyncpg

from chat_service import queries, render
from chat_service.domain import Chats
from chat_service.hub import Publisher
from chat_service.settings import ChatSettings
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.identity import Caller

JSON = dict[str, Any]


def message_not_found() -> NotFound:
    return NotFound("message not found")


class Messages:
    def __init__(
        self, pool: asyncpg.Pool, settings: ChatSettings, chats: Chats, publisher: Publisher
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.chats = chats
        self.publisher = publisher

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
                rows = await queries.messages_after(connection, chat_id, query["afterSeq"], limit)
            elif cursors:
                name = cursors[0]
                seq = await queries.seq_of(connection, chat_id, query[name])
                if seq is None:
                    raise NotFound(f"message {query[name]} not found in this chat")
                if name == "after":
                    rows = await queries.messages_after(connection, chat_id, seq, limit)
                else:
                    rows = await queries.messages_before(connection, chat_id, seq, limit)
            else:
                rows = await queries.messages_before(connection, chat_id, None, limit)
        return [render.message(row) for row in rows]

    async def send(self, caller: Caller, chat_id: int, fields: JSON) -> JSON:
        async with self.pool.acquire() as connection, connection.transaction():
            await self.chats.member(connection, chat_id, caller)
            reply_to = fields.get("replyTo")
            if reply_to is not None and await queries.seq_of(connection, chat_id, reply_to) is None:
                raise ValidationFailed(fields={"replyTo": ["is not a message of this chat"]})
            row = await queries.insert_message(
                connection, chat_id, caller.id, fields["body"], reply_to, self.settings.general_ttl
            )
            # Writing is reading: the sender's own message is never unread to them.
            await queries.advance_read(connection, chat_id, caller.id, row["seq"])
        message = render.message(row)
        await self.publisher.message(chat_id, row["seq"], render.event("message.created", message))
        return message

    async def _own(
        self, connection: asyncpg.Connection, chat_id: int, message_id: int, caller: Caller
    ) -> tuple[asyncpg.Record, asyncpg.Record]:
        chat = await self.chats.member(connection, chat_id, caller)
        row = await queries.message_in_chat(connection, chat_id, message_id)
        if row is None:
            raise message_not_found()
        return chat, row

    async def edit(self, caller: Caller, chat_id: int, message_id: int, body: str) -> JSON:
        async with self.pool.acquire() as connection, connection.transaction():
            _chat, row = await self._own(connection, chat_id, message_id, caller)
            if row["author_id"] != caller.id:
                raise Forbidden("only its author can edit a message")
            if row["deleted"]:
                raise message_not_found()
            row = await queries.edit_message(connection, chat_id, message_id, body)
        message = render.message(row)
        await self.publisher.chat_event(chat_id, render.event("message.updated", message))
        return message

    async def delete(self, caller: Caller, chat_id: int, message_id: int) -> None:
        """The author or the chat's owner turns a message into a tombstone (seq and id stay)."""
        async with self.pool.acquire() as connection, connection.transaction():
            chat, row = await self._own(connection, chat_id, message_id, caller)
            if row["author_id"] != caller.id and chat["role"] != "owner":
                raise Forbidden("only its author or the chat's owner can delete a message")
            if row["deleted"]:
                return
            await queries.tombstone_message(connection, chat_id, message_id)
        data = {"chatId": chat_id, "id": message_id, "seq": row["seq"]}
        await self.publisher.chat_event(chat_id, render.event("message.deleted", data))

    # Read markers and unread messages.

    async def mark_read(self, caller: Caller, chat_id: int, seq: int) -> JSON:
        async with self.pool.acquire() as connection, connection.transaction():
            await self.chats.member(connection, chat_id, caller)
            read_seq = await queries.advance_read(connection, chat_id, caller.id, seq)
            unread = await queries.unread_count(connection, chat_id, caller.id)
        marker = {"chatId": chat_id, "seq": read_seq, "unreadCount": unread}
        # Every device of the reader, on whatever replica, shows the same count.
        await self.publisher.user_event(caller.id, render.event("chat.read", marker))
        return marker

    async def unread(self, caller: Caller, limit: int) -> list[JSON]:
        """Per chat with unread messages, the first `limit` of them after the marker."""
        async with self.pool.acquire() as connection:
            rows = await queries.chats_of(connection, caller.id, 10_000, 0)
            result = []
            for row in rows:
                if row["unread_count"] == 0:
                    continue
                messages = await queries.messages_after(
                    connection, row["id"], row["read_seq"], limit
                )
                chat = render.chat(row, self.settings.general_ttl)
                result.append(
                    {
                        "chatId": row["id"],
                        "title": chat["title"],
                        "type": row["kind"],
                        "lastSeq": row["last_seq"],
                        "readSeq": row["read_seq"],
                        "unreadCount": row["unread_count"],
                        "messages": [render.message(m) for m in messages],
                    }
                )
        return result

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
            positions = await queries.positions_of(connection, user_id)
            general = [p["chat_id"] for p in positions if p["kind"] == "general"]
            recent = (
                await queries.messages_before(
                    connection, general[0], None, self.settings.history_limit
                )
                if general
                else []
            )
        chats = [
            {"chatId": p["chat_id"], "lastSeq": p["last_seq"], "unreadCount": p["unread_count"]}
            for p in positions
        ]
        hello = render.event(
            "hello", {"general": [render.message(row) for row in recent], "chats": chats}
        )
        return {p["chat_id"]: p["last_seq"] for p in positions}, hello
