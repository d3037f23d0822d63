"""auth_service's migrations: the statements of the release before sessions still work on today's
schema."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from auth_service import queries
from tests.infra import Infra

# auth_service/queries.py of f8042b2, the last release before 002_sessions.sql.
EARLIER_INSERT_USER = """INSERT INTO users (username, email, password_hash) VALUES ($1, $2, $3)
            RETURNING id, username, email, password_hash, bio, image, email_confirmed"""


EARLIER_INSERT_REFRESH_TOKEN = """INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
           VALUES ($1, $2, $3, $4)"""
EARLIER_LOCK_REFRESH_TOKEN = """SELECT id, family_id, user_id, expires_at, used_at, revoked_at
           FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE"""
EARLIER_REVOKE_FAMILY = """UPDATE refresh_tokens SET revoked_at = now()
           WHERE family_id = $1 AND revoked_at IS NULL"""
EARLIER_REVOKE_ALL_FAMILIES = (
    "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL"
)
EARLIER_DELETE_USER = "DELETE FROM users WHERE id = $1"


@pytest.fixture
async def auth_db(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    """A connection as auth_service opens one: its schema first on the search path."""
    connection = await asyncpg.connect(
        infra.database_url, server_settings={"search_path": "auth,public"}
    )
    try:
        yield connection
    finally:
        await connection.close()


async def earlier_sign_up(db: asyncpg.Connection, name: str) -> tuple[int, uuid.UUID, datetime]:
    """What the earlier release's sign-up wrote: the user and the first token of a family."""
    async with db.transaction():
        user = await db.fetchrow(EARLIER_INSERT_USER, name, f"{name}@example.com", "hash")
        family = uuid.uuid4()
        expires = datetime.now(UTC) + timedelta(days=30)
        await db.execute(
            EARLIER_INSERT_REFRESH_TOKEN, f"token-{name}".encode(), family, user["id"], expires
        )
    return int(user["id"]), family, expires


async def session_of(db: asyncpg.Connection, family: uuid.UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT user_id, expires_at, revoked_at FROM sessions WHERE id = $1", family
    )


async def test_a_sign_up_of_the_earlier_release_opens_its_session(
    auth_db: asyncpg.Connection,
) -> None:
    user_id, family, expires = await earlier_sign_up(auth_db, "jake")

    session = await session_of(auth_db, family)
    assert session is not None
    assert (session["user_id"], session["expires_at"], session["revoked_at"]) == (
        user_id,
        expires,
        None,
    )
    # The earlier release rotates within the family: the session is there, unchanged.
    await auth_db.execute(
        EARLIER_INSERT_REFRESH_TOKEN, b"token-2", family, user_id, expires + timedelta(days=1)
    )
    assert await session_of(auth_db, family) == session


async def test_a_logout_of_the_earlier_release_ends_the_session_for_the_gateways(
    auth_db: asyncpg.Connection,
) -> None:
    _, family, _ = await earlier_sign_up(auth_db, "jake")

    await auth_db.execute(EARLIER_REVOKE_FAMILY, family)

    revoked = await queries.revoked_sessions(auth_db, None, 10)
    assert [row["id"] for row in revoked] == [family]


async def test_a_password_change_or_deletion_of_the_earlier_release_ends_every_session(
    auth_db: asyncpg.Connection,
) -> None:
    jake, jake_family, _ = await earlier_sign_up(auth_db, "jake")
    anna, anna_family, _ = await earlier_sign_up(auth_db, "anna")
    _, bob_family, _ = await earlier_sign_up(auth_db, "bob")

    await auth_db.execute(EARLIER_REVOKE_ALL_FAMILIES, jake)
    await auth_db.execute(EARLIER_DELETE_USER, anna)

    ended = {row["id"] for row in await queries.revoked_sessions(auth_db, None, 10)}
    assert ended == {jake_family, anna_family}
    bob_session = await session_of(auth_db, bob_family)
    assert bob_session is not None and bob_session["revoked_at"] is None


async def test_the_earlier_release_refuses_a_token_whose_session_this_release_ended(
    auth_db: asyncpg.Connection,
) -> None:
    _, family, _ = await earlier_sign_up(auth_db, "jake")

    ended = await queries.revoke_session(auth_db, family)

    assert [row["id"] for row in ended] == [family]
    token = await auth_db.fetchrow(EARLIER_LOCK_REFRESH_TOKEN, b"token-jake")
    assert token is not None and token["revoked_at"] is not None


async def test_this_release_writes_its_sessions_as_before(auth_db: asyncpg.Connection) -> None:
    user = await queries.insert_user(auth_db, "jake", "jake@example.com", "hash")
    session_id = uuid.uuid4()
    expires = datetime.now(UTC) + timedelta(days=30)
    await queries.insert_session(auth_db, session_id, user["id"], expires)
    await queries.insert_refresh_token(
        auth_db, b"token", session_id, user["id"], expires + timedelta(days=5)
    )

    session = await session_of(auth_db, session_id)
    assert session is not None and session["expires_at"] == expires
    # Ending it still reports it as ended now (the triggers do not end it first).
    assert [row["id"] for row in await queries.revoke_session(auth_db, session_id)] == [session_id]
    assert await queries.revoke_session(auth_db, session_id) == []
