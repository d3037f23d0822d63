"""Every SQL statement of auth_service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

USER_COLUMNS = "id, username, email, password_hash, bio, image, email_confirmed, role, created_at"
PROFILE_COLUMNS = "id, username, bio, image"


async def insert_user(
    connection: asyncpg.Connection, username: str, email: str, password_hash: str
) -> asyncpg.Record:
    """Raises asyncpg.UniqueViolationError naming the index of the value taken."""
    return await connection.fetchrow(
        f"""INSERT INTO users (username, email, password_hash) VALUES ($1, $2, $3)
            RETURNING {USER_COLUMNS}""",
        username,
        email,
        password_hash,
    )


async def get_user(connection: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await connection.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", user_id)


async def get_user_by_email(connection: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    return await connection.fetchrow(
        f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)", email
    )


async def get_profile_by_username(
    connection: asyncpg.Connection, username: str
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        f"SELECT {PROFILE_COLUMNS} FROM users WHERE lower(username) = lower($1)", username
    )


async def get_user_by_username(
    connection: asyncpg.Connection, username: str
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        f"SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower($1)", username
    )


async def get_standing(connection: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    """What other services weigh a user's word by: a confirmed address, the account's age."""
    return await connection.fetchrow(
        f"SELECT {PROFILE_COLUMNS}, email_confirmed, created_at, role FROM users WHERE id = $1",
        user_id,
    )


async def get_profiles_by_ids(
    connection: asyncpg.Connection, user_ids: Sequence[int]
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        f"SELECT {PROFILE_COLUMNS} FROM users WHERE id = ANY($1::bigint[])", list(user_ids)
    )
    return rows


async def list_profiles(
    connection: asyncpg.Connection, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    rows = await connection.fetch(
        f"SELECT {PROFILE_COLUMNS} FROM users ORDER BY id DESC LIMIT $1 OFFSET $2", limit, offset
    )
    total = await connection.fetchval("SELECT count(*) FROM users")
    return rows, total


async def update_user(
    connection: asyncpg.Connection, user_id: int, changes: dict[str, Any]
) -> asyncpg.Record:
    # Column names come from the schema's fixed field list, never from the client.
    allowed = {"username", "email", "password_hash", "bio", "image", "email_confirmed", "role"}
    assert set(changes) <= allowed
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=2))
    return await connection.fetchrow(
        f"""UPDATE users SET {assignments}, updated_at = now() WHERE id = $1
            RETURNING {USER_COLUMNS}""",
        user_id,
        *changes.values(),
    )


async def delete_user(connection: asyncpg.Connection, user_id: int) -> bool:
    result: str = await connection.execute("DELETE FROM users WHERE id = $1", user_id)
    return result == "DELETE 1"


async def user_still_has_password(
    connection: asyncpg.Connection, user_id: int, password_hash: str
) -> bool:
    """True while the account keeps the password just verified; holds the row until commit,
    so a password change waits for a login in flight, or the login sees the new hash."""
    found = await connection.fetchval(
        "SELECT true FROM users WHERE id = $1 AND password_hash = $2 FOR SHARE",
        user_id,
        password_hash,
    )
    return bool(found)


async def insert_session(
    connection: asyncpg.Connection, session_id: uuid.UUID, user_id: int, expires_at: datetime
) -> None:
    await connection.execute(
        "INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)",
        session_id,
        user_id,
        expires_at,
    )


async def extend_session(
    connection: asyncpg.Connection, session_id: uuid.UUID, expires_at: datetime
) -> asyncpg.Record | None:
    """Moves a live session's end to `expires_at`; None when it was revoked or has ended."""
    return await connection.fetchrow(
        """UPDATE sessions SET expires_at = greatest(expires_at, $2)
           WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()
           RETURNING id, expires_at""",
        session_id,
        expires_at,
    )


async def revoke_session(
    connection: asyncpg.Connection, session_id: uuid.UUID
) -> list[asyncpg.Record]:
    """Ends one session and its refresh tokens; [(id, expires_at)] if it was live, else []."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """UPDATE sessions SET revoked_at = clock_timestamp()
           WHERE id = $1 AND revoked_at IS NULL RETURNING id, expires_at""",
        session_id,
    )
    await connection.execute(
        """UPDATE refresh_tokens SET revoked_at = now()
           WHERE family_id = $1 AND revoked_at IS NULL""",
        session_id,
    )
    return rows


async def revoke_user_sessions(
    connection: asyncpg.Connection, user_id: int
) -> list[asyncpg.Record]:
    """Ends every live session of a user; their (id, expires_at)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """UPDATE sessions SET revoked_at = clock_timestamp()
           WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
           RETURNING id, expires_at""",
        user_id,
    )
    await connection.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user_id,
    )
    return rows


async def revoked_sessions(
    connection: asyncpg.Connection, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """Sessions revoked and not yet ended, in the order of revocation, after a cursor."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT id, expires_at, revoked_at FROM sessions
           WHERE revoked_at IS NOT NULL AND expires_at > now()
             AND ($1::timestamptz IS NULL OR (revoked_at, id) > ($1, $2::uuid))
           ORDER BY revoked_at, id LIMIT $3""",
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return rows


async def delete_ended_sessions(
    connection: asyncpg.Connection, before: datetime, limit: int
) -> int:
    """Forgets a batch of sessions that ended before `before`, with their refresh tokens."""
    result: str = await connection.execute(
        """DELETE FROM sessions WHERE id IN (
               SELECT id FROM sessions WHERE expires_at < $1
               ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
    )
    return int(result.rsplit(" ", 1)[-1])


async def insert_refresh_token(
    connection: asyncpg.Connection,
    token_hash: bytes,
    family_id: uuid.UUID,
    user_id: int,
    expires_at: datetime,
) -> None:
    await connection.execute(
        """INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
           VALUES ($1, $2, $3, $4)""",
        token_hash,
        family_id,
        user_id,
        expires_at,
    )


async def lock_refresh_token(
    connection: asyncpg.Connection, token_hash: bytes
) -> asyncpg.Record | None:
    """The token's row, locked so two concurrent uses of one token cannot both succeed."""
    return await connection.fetchrow(
        """SELECT id, family_id, user_id, expires_at, used_at, revoked_at
           FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE""",
        token_hash,
    )


async def mark_refresh_token_used(connection: asyncpg.Connection, token_id: int) -> None:
    await connection.execute("UPDATE refresh_tokens SET used_at = now() WHERE id = $1", token_id)


async def insert_email_token(
    connection: asyncpg.Connection,
    token_hash: bytes,
    user_id: int,
    purpose: str,
    email: str,
    expires_at: datetime,
) -> None:
    await connection.execute(
        """INSERT INTO email_tokens (token_hash, user_id, purpose, email, expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        token_hash,
        user_id,
        purpose,
        email,
        expires_at,
    )


async def use_email_token(
    connection: asyncpg.Connection, token_hash: bytes, purpose: str
) -> asyncpg.Record | None:
    """Spends a valid token (once) and returns its user and address, or None."""
    return await connection.fetchrow(
        """UPDATE email_tokens SET used_at = now()
           WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
           RETURNING user_id, email""",
        token_hash,
        purpose,
    )


async def confirm_email(connection: asyncpg.Connection, user_id: int, email: str) -> bool:
    """Confirms the address only if it is still the account's address."""
    result: str = await connection.execute(
        """UPDATE users SET email_confirmed = true, updated_at = now()
           WHERE id = $1 AND lower(email) = lower($2)""",
        user_id,
        email,
    )
    return result == "UPDATE 1"
