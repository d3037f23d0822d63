"""Roles: `user`, `moderator`, `admin`. A change ends every session of the user, so that the
next token they get carries the new role, and is told to other services as `user.updated`."""

from __future__ import annotations

import asyncpg

from auth_service import queries
from auth_service.domain import USER_UPDATED, public_profile
from auth_service.sessions import ended
from shared.contracts.revocation import Ended
from shared.events import record_event
from shared.web.errors import NotFound

ROLES = ("user", "moderator", "admin")


async def set_role(
    connection: asyncpg.Connection, username: str, role: str, default_image: str
) -> tuple[asyncpg.Record, list[Ended]]:
    """Sets the role in the caller's transaction; returns the user and the sessions ended
    (announce them after commit). Setting the role a user has changes nothing."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    before = await queries.get_user_by_username(connection, username)
    if before is None:
        raise NotFound(f"user {username} not found", fields={"username": ["not found"]})
    if before["role"] == role:
        return before, []
    user = await queries.update_user(connection, before["id"], {"role": role})
    revoked = ended(await queries.revoke_user_sessions(connection, user["id"]))
    await record_event(
        connection,
        USER_UPDATED,
        {**public_profile(user, default_image), "email": user["email"], "role": role},
    )
    return user, revoked
