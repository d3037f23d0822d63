"""Timed work of every replica: sending scheduled messages when they fall due, removing
expired messages with their files, and files never attached. Each row is taken by one
replica (`FOR UPDATE SKIP LOCKED`), so each message is sent, or removed, once."""

from __future__ import annotations

import logging

import asyncpg

from chat_service import compose
from chat_service.attachments import Attachments
from chat_service.budget import SendBudget
from chat_service.live.publisher import Publisher
from chat_service.notifications import mentioned_names, record_mention
from chat_service.queries import attachments as q_attachments
from chat_service.queries import chats as q_chats
from chat_service.queries import messages as q_messages
from chat_service.queries import moderation as q_moderation
from chat_service.queries import notifications as q_notifications
from chat_service.queries import scheduled as q_scheduled
from chat_service.settings import ChatSettings
from shared.service.jobs import Job

log = logging.getLogger(__name__)

BATCH = 200


class Timed:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: ChatSettings,
        publisher: Publisher,
        attachments: Attachments,
        budget: SendBudget,
    ) -> None:
        self.budget = budget
        self.pool = pool
        self.settings = settings
        self.publisher = publisher
        self.attachments = attachments

    async def send_due(self) -> int:
        """Sends the scheduled messages whose time has come; returns how many were due."""
        sent: list[asyncpg.Record] = []
        dropped: list[str] = []
        async with self.pool.acquire() as connection, connection.transaction():
            due = await q_scheduled.take_due(connection, BATCH)
            for row in due:
                if await q_chats.membership(connection, row["chat_id"], row["author_id"]) is None:
                    # The author left the chat meanwhile: nobody is there to send it for.
                    attachment = await q_scheduled.drop_message(connection, row["id"])
                    await self.budget.give_back(connection, row["author_id"], row["budget_period"])
                    if attachment is not None:
                        dropped.append(attachment)
                    continue
                until = await q_moderation.banned_until(connection, row["author_id"])
                if until is not None:
                    # Sent when the ban ends, in a period with a place left for it.
                    period, send_at = await self.budget.move(
                        connection, row["author_id"], row["budget_period"], until
                    )
                    await q_scheduled.postpone(connection, row["id"], send_at, period)
                    continue
                delivered = await q_scheduled.deliver_scheduled(
                    connection, row["id"], row["chat_id"], self.settings.general_ttl
                )
                sent.append(delivered)
                mentions = mentioned_names(delivered["body"] or "")
                if mentions:  # named people hear of it when it is delivered
                    await record_mention(connection, delivered, row["author_id"], mentions)
            gone = await q_attachments.unreferenced(connection, dropped) if dropped else []
        await self.attachments.remove_files(gone)
        for message in sent:
            text = compose.event("message.created", compose.message(message))
            await self.publisher.message(message["chat_id"], message["seq"], text)
        if sent:
            self.publisher.outbox_written()
            log.info("scheduled messages sent", extra={"count": len(sent)})
        return len(due)

    async def expire(self) -> int:
        """Removes expired messages, and the files that only they showed."""
        async with self.pool.acquire() as connection, connection.transaction():
            rows = await q_messages.delete_expired(connection, BATCH)
            if rows:  # their mentions go with them
                ids = [row["id"] for row in rows]
                await q_notifications.delete_mentions_in_messages(connection, ids)
            files = [row["attachment_id"] for row in rows if row["attachment_id"] is not None]
            gone = await q_attachments.unreferenced(connection, files) if files else []
            periods = await self.budget.prune(connection, BATCH)
        await self.attachments.remove_files(gone)
        return max(len(rows), periods)

    async def remove_orphans(self) -> int:
        return await self.attachments.remove_orphans(self.settings.orphan_ttl, BATCH)

    def jobs(self) -> list[Job]:
        settings = self.settings
        return [
            Job("chat.send_due", self.send_due, settings.schedule_interval, BATCH),
            Job("chat.expire", self.expire, settings.expiry_interval, BATCH),
            Job("chat.orphans", self.remove_orphans, min(60.0, settings.orphan_ttl / 2), BATCH),
        ]
