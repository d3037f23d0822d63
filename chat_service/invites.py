"""Invite links and join requests: a public chat is joined at once by its link, a private one
by the owner's approval. Join requests are the owner's business only."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from chat_service import compose
from chat_service.chats import Chats, chat_not_found
from chat_service.live.publisher import Publisher
from chat_service.moderation import check_not_banned
from chat_service.notifications import CHAT_JOIN_DECIDED
from chat_service.queries import chats as q_chats
from chat_service.queries import invites as q_invites
from chat_service.settings import ChatSettings
from chat_service.users import Directory, first_use
from shared.events import record_event
from shared.web.errors import Forbidden, NotFound, TooManyRequests, ValidationFailed
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
            await check_not_banned(connection, caller.id)
            await q_invites.create_invite(
                connection, _code_hash(code), chat_id, caller.id, expires_at
            )
        return {
            "code": code,
            # The page of the web client that joins with this code (POST
            # /api/chats/join/{code}) once its visitor is signed in: the link people share
            # opens in a browser; API clients take the code, or the code from the link.
            "url": f"{self.settings.public_url}/join/{code}",
            "expiresAt": iso(expires_at),
        }

    async def _owned_group(
        self, connection: asyncpg.Connection, chat_id: int, caller: Caller
    ) -> None:
        row = await self.chats.member(connection, chat_id, caller)
        if row["kind"] != "group":
            raise Forbidden(f"a {row['kind']} chat has no invite links")
        self.chats.require_owner(row, "manage invite links")

    @first_use
    async def invites(self, caller: Caller, chat_id: int) -> list[JSON]:
        """The chat's active links. Only their hashes are stored, so a link is shown by an id
        (the start of its hash: it cannot be used to join) that revokes it as its code does."""
        async with self.pool.acquire() as connection:
            await self._owned_group(connection, chat_id, caller)
            rows = await q_invites.active_invites(connection, chat_id)
        return [
            {
                "id": row["id"],
                "createdBy": compose.person(row["username"], row["image"])
                if row["username"] is not None
                else None,
                "createdAt": iso(row["created_at"]),
                "expiresAt": iso(row["expires_at"]),
            }
            for row in rows
        ]

    @first_use
    async def revoke(self, caller: Caller, chat_id: int, code: str) -> None:
        """Revokes a link by its code or its listed id; joining with it is 404 afterwards."""
        async with self.pool.acquire() as connection, connection.transaction():
            await self._owned_group(connection, chat_id, caller)
            if not await q_invites.revoke_invite(connection, chat_id, _code_hash(code), code):
                raise NotFound("invite link not found")

    async def join(self, caller: Caller, code: str) -> tuple[int, JSON]:
        """Enters a public chat at once (200 chat), or files a request for a private one (202);
        a repeated request answers 200 with the pending one and tells the owner nothing, and
        one after a rejection waits `join_retry_after` (429)."""
        await self.users.ensure(caller)
        async with self.pool.acquire() as connection, connection.transaction():
            target = await q_invites.chat_of_invite(connection, _code_hash(code))
            if target is None:
                raise NotFound("this invite link is wrong or has expired")
            chat_id = target["id"]
            if await q_chats.membership(connection, chat_id, caller.id) is not None:
                return 200, {"chat": await self.chats.view(connection, chat_id, caller.id)}
            await check_not_banned(connection, caller.id)
            if target["private"]:
                pending = await q_invites.pending_request_of(connection, chat_id, caller.id)
                if pending is not None:
                    return 200, {"joinRequest": compose.join_request(pending)}
                await self._not_rejected_lately(connection, chat_id, caller.id)
                row, filed = await q_invites.file_join_request(connection, chat_id, caller.id)
                request = compose.join_request(row)
                if not filed:  # a concurrent twin filed it: that one told the owner
                    return 200, {"joinRequest": request}
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

    async def _not_rejected_lately(
        self, connection: asyncpg.Connection, chat_id: int, user_id: int
    ) -> None:
        wait = self.settings.join_retry_after
        rejected_at = await q_invites.last_rejection(connection, chat_id, user_id)
        if rejected_at is None or wait <= 0:
            return
        retry = math.ceil(rejected_at.timestamp() + wait - time.time())
        if retry > 0:
            raise TooManyRequests(
                f"your request to join was rejected; you may ask again in {retry} s",
                retry_after=retry,
            )

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
            decision = {
                "chatId": chat_id,
                "userId": row["user_id"],
                "byId": caller.id,
                "requestId": request_id,
                "status": status,
            }
            await record_event(connection, CHAT_JOIN_DECIDED, decision)
        self.publisher.outbox_written()
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
