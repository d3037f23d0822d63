"""chat_service's own copy of users (id, username, image), fed by auth's events.

Showing a message never asks auth_service. Only an account that chat has not heard of (it
existed before chat_service did, or its event is still on its way) is fetched once from
auth's internal routes, stored, and made a member of the general chat.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg

from chat_service.queries import chats as q_chats
from chat_service.queries import users as q_users
from shared.transport.internal import InternalClient
from shared.web.errors import ApiError, NotFound
from shared.web.identity import Caller

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Directory:
    def __init__(self, pool: asyncpg.Pool, client: InternalClient) -> None:
        self.pool = pool
        self.client = client

    async def register(
        self, connection: asyncpg.Connection, user_id: int, username: str, image: Any
    ) -> int:
        """Stores a user and makes them a member of the general chat; returns its id."""
        await q_users.upsert_user(connection, user_id, username, image)
        general = await q_chats.ensure_general(connection)
        await q_chats.add_member(connection, general, user_id, "member")
        return general

    async def ensure(self, caller: Caller, connection: asyncpg.Connection | None = None) -> None:
        """Makes sure chat knows the caller (the first use of an older account).

        A caller that holds a connection passes it: taking a second one from the pool while
        holding the first deadlocks once a burst of first requests holds them all."""
        if connection is not None:
            if not await q_users.user_exists(connection, caller.id):
                user = await self._fetch(caller.id)
                async with connection.transaction():
                    await self.register(connection, caller.id, user["username"], user["image"])
                log.info("user added on first use", extra={"user_id": caller.id})
            return
        async with self.pool.acquire() as own:
            if await q_users.user_exists(own, caller.id):
                return
        user = await self._fetch(caller.id)
        async with self.pool.acquire() as own, own.transaction():
            await self.register(own, caller.id, user["username"], user["image"])
        log.info("user added on first use", extra={"user_id": caller.id})

    async def _fetch(self, user_id: int) -> dict[str, Any]:
        body = await self.client.request(
            "GET", "auth", "/internal/users", params={"ids": str(user_id)}
        )
        found = [user for user in body["users"] if int(user["id"]) == user_id]
        if not found:
            raise NotFound("user not found")
        return found[0]  # type: ignore[no-any-return]

    async def by_username(self, connection: asyncpg.Connection, username: str) -> asyncpg.Record:
        """The user by name, asking auth_service for one chat has not heard of; 404 if none."""
        if not _USERNAME.match(username):
            raise NotFound(f"user {username} not found", fields={"username": ["not found"]})
        row = await q_users.user_by_username(connection, username)
        if row is not None:
            return row
        try:
            body = await self.client.request(
                "GET", "auth", f"/internal/users/by-username/{username}"
            )
        except ApiError as exc:
            if exc.status == 404:
                raise NotFound(
                    f"user {username} not found", fields={"username": ["not found"]}
                ) from None
            raise
        user = body["user"]
        await self.register(connection, int(user["id"]), user["username"], user["image"])
        row = await q_users.user_by_username(connection, username)
        if row is None:
            raise NotFound(f"user {username} not found", fields={"username": ["not found"]})
        return row
