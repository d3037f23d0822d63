"""The events chat_service consumes: auth's users, copied into chat's own `users` table, and
the moderator actions of other services (posts), recorded in the audit log."""

from __future__ import annotations

import asyncpg

from chat_service import compose
from chat_service.attachments import Attachments
from chat_service.live.publisher import Publisher
from chat_service.moderators import Moderators
from chat_service.queries import attachments as q_attachments
from chat_service.queries import chats as q_chats
from chat_service.queries import users as q_users
from chat_service.users import Directory
from shared.events import Event
from shared.events.consumer import AfterCommit, Handler


def handlers(
    directory: Directory, publisher: Publisher, attachments: Attachments, moderators: Moderators
) -> dict[str, Handler]:
    async def user_registered(connection: asyncpg.Connection, event: Event) -> None:
        data = event.data
        await directory.register(connection, int(data["id"]), data["username"], data.get("image"))

    async def user_updated(connection: asyncpg.Connection, event: Event) -> None:
        data = event.data
        await q_users.upsert_user(connection, int(data["id"]), data["username"], data.get("image"))

    async def user_deleted(connection: asyncpg.Connection, event: Event) -> AfterCommit:
        """The account's messages become tombstones, it leaves every chat, and the group
        chats it owned pass to their longest-standing member (or end with it)."""
        user_id = int(event.data["id"])
        tombstones = await q_users.tombstone_messages_by(connection, user_id)
        ended: list[int] = []
        gone: list[str] = []
        for chat_id in await q_users.chats_owned_by(connection, user_id):
            successor = await q_chats.oldest_other_member(connection, chat_id, user_id)
            if successor is None:
                gone += await q_chats.delete_chat(connection, chat_id)
                ended.append(chat_id)
            else:
                await q_chats.transfer_ownership(connection, chat_id, successor)
        left = await q_users.member_chat_ids(connection, user_id)
        for chat_id in left:
            await q_chats.remove_member(connection, chat_id, user_id)
        await q_users.mark_user_deleted(connection, user_id)
        # Every file of the account goes: those its messages showed (now tombstones), those
        # of its scheduled messages, and uploads never posted.
        gone += await q_attachments.delete_attachments_of(connection, user_id)

        async def after_commit() -> None:
            await attachments.remove_files(gone)
            for row in tombstones:
                data = {"chatId": row["chat_id"], "id": row["id"], "seq": row["seq"]}
                await publisher.chat_event(row["chat_id"], compose.event("message.deleted", data))
            for chat_id in ended:
                await publisher.chat_gone(
                    chat_id, compose.event("chat.deleted", {"chatId": chat_id})
                )
            for chat_id in set(left) - set(ended):
                left_event = {"chatId": chat_id, "user": None}
                await publisher.chat_event(chat_id, compose.event("chat.member_left", left_event))

        return after_commit

    async def moderation_action(connection: asyncpg.Connection, event: Event) -> None:
        """Another service's moderator action, into the one audit log (once per event)."""
        await moderators.record(connection, event.id, event.data)

    return {
        "moderation.action": moderation_action,
        "user.registered": user_registered,
        "user.updated": user_updated,
        "user.deleted": user_deleted,
    }
