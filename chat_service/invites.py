"""Invite links and join requests: a public chat is joined at once by its link, a private one
by the owner's approval. Join requests are the owner's business only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from chat_service import compose
from chat_service.chats import Chats, chat_not_found
from chat_service.live.publisher import Publisher
from chat_service.queries import chats as q_chats
from chat_service.queries import invites as q_invites
from chat_service.settings import ChatSettings
from chat_service.users import Directory, first_use
from shared.web.errors import Forbidden, NotFound, ValidationFailed
from shared.web.identity import Caller
from shared.web.timefmt import iso

JSON = dict[str, Any]


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class Invites:
    def __init__(self, pool: asyncpg.Pool, settings: ChatSettings, chats: Chats) -> None:
        self.pool = pool
        self.settings = settings
        self.chats = chats
        self.users: Directory = chats.users
        self.publisher: Publisher = chats.publisher

    @first_use
    async def create_invite(self, caller: Caller, chat_id: int, expires_in: int | None) -> JSON:
        seconds = expires_in or self.settings.invite_ttl
        if seconds > self.settings.invite_max_ttl:
            raise ValidationFailed(
                fields={"expiresInSeconds": [f"must be at most {self.settings.invite_max_ttl}"]}
            )
        code = secrets.token_urlsafe(24)
        expires_at = datetime.now(UTC) + timedelta(seconds=seconds)
        async with self.pool.acquire() as connection, connection.transaction():
            row = await self.chats.member(connection, chat_id, caller)
            if row["kind"] != "group":
                raise Forbidden(f"a {row['kind']} chat has no invite links")
            self.chats.require_owner(row, "create invite links")
            await q_invites.create_invite(
                connection, _code_hash(code), chat_id, caller.id, expires_at
            )
        return {
            "code": code,
            "url": f"{self.settings.public_url}/api/chats/join/{code}",
            "expiresAt": iso(expires_at),
        }

    async def join(self, caller: Caller, code: str) -> tuple[int, JSON]:
        """Enters a public chat at once (200 chat), or files a request for a private one (202)."""
        await self.users.ensure(caller)
        async with self.pool.acquire() as connection, connection.transaction():
            target = await q_invites.chat_of_invite(connection, _code_hash(code))
            if target is None:
                raise NotFound("this invite link is wrong or has expired")
            chat_id = target["id"]
            if await q_chats.membership(connection, chat_id, caller.id) is not None:
                return 200, {"chat": await self.chats.view(connection, chat_id, caller.id)}
            if target["private"]:
                request = compose.join_request(
                    await q_invites.file_join_request(connection, chat_id, caller.id)
                )
            else:
                last_seq = (await q_chats.last_seqs(connection, [chat_id]))[chat_id]
                await q_chats.add_member(connection, chat_id, caller.id, "member")
                chat = await self.chats.view(connection, chat_id, caller.id)
                request = None
        if request is not None:
            await self.publisher.user_event(
                target["owner_id"], compose.event("chat.join_requested", request)
            )
            return 202, {"joinRequest": request}
        me = await self.chats.person(caller.id)
        await self.chats.announce_join(chat_id, caller.id, me["username"], me["image"], last_seq)
        return 200, {"chat": chat}

    async def _owned(self, connection: asyncpg.Connection, chat_id: int, caller: Caller) -> None:
        # Join requests are the owner's business only: to anyone else they do not exist.
        row = await q_chats.membership(connection, chat_id, caller.id)
        if row is None or row["role"] != "owner":
            raise chat_not_found()

    async def join_requests(self, caller: Caller, chat_id: int) -> list[JSON]:
        async with self.pool.acquire() as connection:
            await self._owned(connection, chat_id, caller)
            rows = await q_invites.pending_join_requests(connection, chat_id)
        return [compose.join_request(row) for row in rows]

    async def decide(self, caller: Caller, chat_id: int, request_id: int, approve: bool) -> JSON:
        status = "approved" if approve else "rejected"
        async with self.pool.acquire() as connection, connection.transaction():
            await self._owned(connection, chat_id, caller)
            row = await q_invites.decide_join_request(connection, chat_id, request_id, status)
            if row is None:
                raise NotFound("join request not found")
            last_seq = (await q_chats.last_seqs(connection, [chat_id]))[chat_id]
            if approve:
                await q_chats.add_member(connection, chat_id, row["user_id"], "member")
        request = compose.join_request(row)
        decided = compose.event("chat.join_decided", request)
        if approve:
            await self.publisher.joined(row["user_id"], chat_id, last_seq, decided)
            joined = compose.membership_event(
                "chat.member_joined", chat_id, row["username"], row["image"]
            )
            await self.publisher.chat_event(chat_id, joined, skip_user=row["user_id"])
        else:
            await self.publisher.user_event(row["user_id"], decided)
        return request

    # Housekeeping, run by the background jobs of every replica.

    async def prune(self, batch_size: int) -> int:
        async with self.pool.acquire() as connection, connection.transaction():
            invites = await q_invites.delete_expired_invites(connection, batch_size)
            requests = await q_invites.delete_old_join_requests(connection, batch_size, 30 * 86400)
        return max(invites, requests)
