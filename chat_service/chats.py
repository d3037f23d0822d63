"""Chats and who is in them: general, direct and group chats and their members. Only members
see a chat; to anyone else it does not exist (404, never 403)."""

from __future__ import annotations

from typing import Any

import asyncpg

from chat_service import compose
from chat_service.attachments import Attachments
from chat_service.live.presence import Presence
from chat_service.live.publisher import Publisher
from chat_service.moderation import check_not_banned
from chat_service.notifications import CHAT_MEMBER_ADDED
from chat_service.queries import chats as q_chats
from chat_service.queries import users as q_users
from chat_service.settings import ChatSettings
from chat_service.users import Directory, UnknownToChat, first_use
from shared.events import record_event
from shared.web.errors import Forbidden, NotFound, ValidationFailed
from shared.web.idempotency import Seal, no_seal
from shared.web.identity import Caller

JSON = dict[str, Any]


def chat_not_found() -> NotFound:
    return NotFound("chat not found")


class Chats:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: ChatSettings,
        users: Directory,
        publisher: Publisher,
        presence: Presence,
        attachments: Attachments,
    ) -> None:
        self.attachments = attachments
        self.pool = pool
        self.settings = settings
        self.users = users
        self.publisher = publisher
        self.presence = presence

    async def member(
        self, connection: asyncpg.Connection, chat_id: int, caller: Caller, *, lock: bool = False
    ) -> asyncpg.Record:
        """The chat as the caller belongs to it; 404 for a chat that is not theirs, and
        `UnknownToChat` for a caller chat has not heard of (the method is `first_use`)."""
        find = q_chats.lock_membership if lock else q_chats.membership
        row = await find(connection, chat_id, caller.id)
        if row is None:
            if not await q_users.user_exists(connection, caller.id):
                raise UnknownToChat(user_id=caller.id)  # the method runs again (first_use)
            # Look again: the user's registration (auth's event, handled by any replica) may
            # have committed between the two reads above.
            row = await find(connection, chat_id, caller.id)
        if row is None:
            raise chat_not_found()
        return row

    @staticmethod
    def require_owner(row: asyncpg.Record, action: str) -> None:
        if row["role"] != "owner":
            raise Forbidden(f"only the chat's owner can {action}")

    async def view(self, connection: asyncpg.Connection, chat_id: int, user_id: int) -> JSON:
        row = await q_chats.chat_for_member(connection, chat_id, user_id)
        return compose.chat(row, self.settings.general_ttl)

    # Lists and single chats.

    @first_use
    async def list_mine(self, caller: Caller, limit: int, offset: int) -> JSON:
        async with self.pool.acquire() as connection:
            total = await q_chats.count_chats_of(connection, caller.id)
            if total == 0:
                if not await q_users.user_exists(connection, caller.id):
                    raise UnknownToChat(user_id=caller.id)  # the method runs again (first_use)
                # Again: the registration may have committed meanwhile.
                total = await q_chats.count_chats_of(connection, caller.id)
            rows = await q_chats.chats_of(connection, caller.id, limit, offset)
        general_ttl = self.settings.general_ttl
        return {"chats": [compose.chat(row, general_ttl) for row in rows], "chatsCount": total}

    @first_use
    async def get(self, caller: Caller, chat_id: int) -> JSON:
        async with self.pool.acquire() as connection:
            await self.member(connection, chat_id, caller)
            chat = await self.view(connection, chat_id, caller.id)
            members = await q_chats.members_of(connection, chat_id, self.settings.members_limit)
            count = await q_chats.count_members(connection, chat_id)
        online = await self.presence.online([row["id"] for row in members])
        chat["members"] = [
            {
                "username": row["username"],
                "image": row["image"],
                "online": row["id"] in online,
                "role": row["role"],
            }
            for row in members
        ]
        chat["membersCount"] = count
        return chat

    # Creating, changing and deleting.

    async def create_group(self, caller: Caller, fields: JSON, seal: Seal = no_seal) -> JSON:
        await self.users.ensure(caller)
        async with self.pool.acquire() as connection, connection.transaction():
            await check_not_banned(connection, caller.id)
            chat_id = await q_chats.create_group(
                connection,
                caller.id,
                fields["title"],
                fields.get("description", ""),
                fields.get("private", False),
            )
            await q_chats.add_member(connection, chat_id, caller.id, "owner")
            chat = await self.view(connection, chat_id, caller.id)
            await seal(connection, 201, chat)
        me = await self.person(caller.id)
        await self.publisher.joined(
            caller.id,
            chat_id,
            0,
            compose.membership_event("chat.member_joined", chat_id, me["username"], me["image"]),
        )
        return chat

    @first_use
    async def open_direct(
        self, caller: Caller, username: str, seal: Seal = no_seal
    ) -> tuple[int, JSON]:
        """The direct chat with a person: 201 when it is new, 200 with the existing one."""
        await self.users.ensure(caller)
        async with self.pool.acquire() as connection, connection.transaction():
            await check_not_banned(connection, caller.id)
            other = await self.users.by_username(connection, username)
            if other["id"] == caller.id:
                raise ValidationFailed(
                    "you cannot open a direct chat with yourself",
                    fields={"username": ["is yourself"]},
                )
            chat_id, created = await q_chats.get_or_create_direct(
                connection, caller.id, other["id"]
            )
            if created:
                await q_chats.add_member(connection, chat_id, caller.id, "member")
                await q_chats.add_member(connection, chat_id, other["id"], "member")
            chat = await self.view(connection, chat_id, caller.id)
            await seal(connection, 201 if created else 200, chat)
        if created:
            me = await self.person(caller.id)
            for user_id, name, image in (
                (caller.id, me["username"], me["image"]),
                (other["id"], other["username"], other["image"]),
            ):
                text = compose.membership_event("chat.member_joined", chat_id, name, image)
                await self.publisher.joined(user_id, chat_id, 0, text)
        return (201 if created else 200), chat

    @first_use
    async def update(self, caller: Caller, chat_id: int, changes: JSON) -> JSON:
        async with self.pool.acquire() as connection, connection.transaction():
            row = await self.member(connection, chat_id, caller, lock=True)
            if row["kind"] != "group":
                raise Forbidden(f"a {row['kind']} chat cannot be changed")
            self.require_owner(row, "change it")
            await check_not_banned(connection, caller.id)
            await q_chats.update_chat(connection, chat_id, changes)
            chat = await self.view(connection, chat_id, caller.id)
        # What every member sees alike (the view also holds the caller's unread count).
        shared = {key: chat[key] for key in ("title", "description", "private")}
        data = {"chatId": chat_id, **shared, "messageTtlSeconds": chat["messageTtlSeconds"]}
        await self.publisher.chat_event(chat_id, compose.event("chat.updated", data))
        return chat

    @first_use
    async def delete(self, caller: Caller, chat_id: int) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            row = await self.member(connection, chat_id, caller, lock=True)
            if row["kind"] != "group":
                raise Forbidden(f"a {row['kind']} chat cannot be deleted")
            self.require_owner(row, "delete it")
            gone = await q_chats.delete_chat(connection, chat_id)
        # The chat's files go with it.
        await self.attachments.remove_files(gone)
        await self.publisher.chat_gone(chat_id, compose.event("chat.deleted", {"chatId": chat_id}))

    # Members.

    async def announce_join(
        self, chat_id: int, user_id: int, username: str, image: str | None, from_seq: int
    ) -> None:
        text = compose.membership_event("chat.member_joined", chat_id, username, image)
        await self.publisher.joined(user_id, chat_id, from_seq, text)
        await self.publisher.chat_event(chat_id, text, skip_user=user_id)

    @first_use
    async def add_member(self, caller: Caller, chat_id: int, username: str) -> tuple[int, JSON]:
        async with self.pool.acquire() as connection, connection.transaction():
            row = await self.member(connection, chat_id, caller, lock=True)
            if row["kind"] != "group":
                raise Forbidden(f"nobody can be added to a {row['kind']} chat")
            self.require_owner(row, "add members")
            await check_not_banned(connection, caller.id)
            user = await self.users.by_username(connection, username)
            added = await q_chats.add_member(connection, chat_id, user["id"], "member")
            if added:  # the person added hears of it (a notification)
                invited = {"chatId": chat_id, "userId": user["id"], "byId": caller.id}
                await record_event(connection, CHAT_MEMBER_ADDED, invited)
            role = "owner" if user["id"] == row["owner_id"] else "member"
        member = {
            "username": user["username"],
            "image": user["image"],
            "online": bool(await self.presence.devices(user["id"])),
            "role": role,
        }
        if added:
            self.publisher.outbox_written()
            await self.announce_join(
                chat_id, user["id"], user["username"], user["image"], row["last_seq"]
            )
        return (201 if added else 200), member

    @first_use
    async def remove_member(self, caller: Caller, chat_id: int, username: str) -> None:
        """The owner removes a member, or a member leaves (their own name)."""
        gone: list[str] = []
        async with self.pool.acquire() as connection, connection.transaction():
            row = await self.member(connection, chat_id, caller, lock=True)
            leaving = username.lower() == caller.username.lower()
            if row["kind"] != "group":
                raise Forbidden(f"nobody can leave a {row['kind']} chat")
            if not leaving:
                self.require_owner(row, "remove members")
            user = await q_users.user_by_username(connection, username)
            if user is None or not await q_chats.remove_member(connection, chat_id, user["id"]):
                raise NotFound(f"{username} is not a member of this chat")
            if leaving and row["role"] == "owner":
                # The chat lives on under its longest-standing member, or ends with its owner.
                successor = await q_chats.oldest_other_member(connection, chat_id, caller.id)
                if successor is None:
                    gone = await q_chats.delete_chat(connection, chat_id)
                else:
                    await q_chats.transfer_ownership(connection, chat_id, successor)
        await self.attachments.remove_files(gone)
        text = compose.membership_event(
            "chat.member_left", chat_id, user["username"], user["image"]
        )
        await self.publisher.left(user["id"], chat_id, text)
        await self.publisher.chat_event(chat_id, text, skip_user=user["id"])

    async def person(self, user_id: int) -> JSON:
        async with self.pool.acquire() as connection:
            rows = await q_users.users_by_ids(connection, [user_id])
        if not rows:
            raise NotFound("user not found")
        return {"username": rows[0]["username"], "image": rows[0]["image"]}
