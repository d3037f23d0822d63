"""chat_service's own copy of users (id, username, image), fed by auth's events.

Showing a message never asks auth_service. Only an account that chat has not heard of (it
existed before chat_service did, or its event is still on its way) is fetched once from
auth (`clients.py`), stored, and made a member of the general chat. Auth is never asked
while a transaction is open: work that meets an unknown account inside one raises
`UnknownToChat`, and `first_use` runs it again once the account is fetched and stored.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import asyncpg

from chat_service.clients import AuthUsers
from chat_service.queries import chats as q_chats
from chat_service.queries import users as q_users
from shared.web.errors import NotFound
from shared.web.identity import Caller

log = logging.getLogger(__name__)

# Matched with fullmatch: `$` alone would let "alice\n" through as a name.
_USERNAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

T = TypeVar("T")
P = ParamSpec("P")


def user_not_found(username: str) -> NotFound:
    return NotFound(f"user {username} not found", fields={"username": ["not found"]})


class UnknownToChat(Exception):
    """Someone that chat's copy of users lacks and auth may know: by id (the caller) or by
    name (a person the caller named)."""

    def __init__(self, *, user_id: int | None = None, username: str | None = None) -> None:
        super().__init__(user_id if username is None else username)
        self.user_id = user_id
        self.username = username

    def not_found(self) -> NotFound:
        return user_not_found(self.username) if self.username else NotFound("user not found")


class Directory:
    def __init__(self, pool: asyncpg.Pool, auth: AuthUsers) -> None:
        self.pool = pool
        self.auth = auth

    async def register(
        self, connection: asyncpg.Connection, user_id: int, username: str, image: Any
    ) -> int:
        """Stores a user and makes them a member of the general chat; returns its id."""
        await q_users.upsert_user(connection, user_id, username, image)
        general = await q_chats.ensure_general(connection)
        await q_chats.add_member(connection, general, user_id, "member")
        return general

    async def ensure(self, caller: Caller) -> None:
        """Makes sure chat knows the caller (the first use of an older account)."""
        async with self.pool.acquire() as connection:
            if await q_users.user_exists(connection, caller.id):
                return
        await self._store(await self.auth.by_id(caller.id))

    async def _store(self, user: dict[str, Any]) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await self.register(connection, int(user["id"]), user["username"], user["image"])
        log.info("user added on first use", extra={"user_id": int(user["id"])})

    async def by_username(self, connection: asyncpg.Connection, username: str) -> asyncpg.Record:
        """The user by name; 404 for a name that cannot be one, `UnknownToChat` for one that
        chat has not heard of."""
        if not _USERNAME.fullmatch(username):
            raise user_not_found(username)
        row = await q_users.user_by_username(connection, username)
        if row is None:
            raise UnknownToChat(username=username)
        return row

    async def known(self, work: Callable[[], Awaitable[T]]) -> T:
        """Runs `work`; when it meets someone chat has not heard of, fetches them from auth
        (no connection held), stores them, and runs it once more."""
        try:
            return await work()
        except UnknownToChat as unknown:
            await self._learn(unknown)
        try:
            return await work()
        except UnknownToChat as unknown:
            raise unknown.not_found() from None

    async def _learn(self, unknown: UnknownToChat) -> None:
        if unknown.user_id is not None:
            await self._store(await self.auth.by_id(unknown.user_id))
            return
        assert unknown.username is not None
        user = await self.auth.by_username(unknown.username)
        if user is None:
            raise unknown.not_found()
        await self._store(user)


class HasDirectory(Protocol):
    users: Directory


S = TypeVar("S", bound=HasDirectory)


def first_use(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """For a method whose transaction may meet someone chat has not heard of: the method runs
    again, from the start, once auth was asked outside any transaction."""

    @functools.wraps(method)
    async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.users.known(lambda: method(self, *args, **kwargs))

    return run
