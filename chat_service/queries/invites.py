"""Invite links and join requests."""

from __future__ import annotations

from datetime import datetime

import asyncpg

# Invites and join requests.


async def create_invite(
    connection: asyncpg.Connection,
    code_hash: str,
    chat_id: int,
    created_by: int,
    expires_at: datetime,
) -> None:
    await connection.execute(
        """INSERT INTO chat_invites (code_hash, chat_id, created_by, expires_at)
           VALUES ($1, $2, $3, $4)""",
        code_hash,
        chat_id,
        created_by,
        expires_at,
    )


async def chat_of_invite(connection: asyncpg.Connection, code_hash: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await connection.fetchrow(
        """SELECT c.id, c.kind, c.private, c.owner_id FROM chat_invites i
           JOIN chats c ON c.id = i.chat_id
           WHERE i.code_hash = $1 AND i.expires_at > now()""",
        code_hash,
    )
    return row


async def active_invites(connection: asyncpg.Connection, chat_id: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT left(i.code_hash, 16) AS id, i.created_at, i.expires_at, u.username, u.image
           FROM chat_invites i LEFT JOIN users u ON u.id = i.created_by
           WHERE i.chat_id = $1 AND i.expires_at > now() ORDER BY i.created_at, i.code_hash""",
        chat_id,
    )
    return rows


async def revoke_invite(
    connection: asyncpg.Connection, chat_id: int, code_hash: str, invite_id: str
) -> bool:
    """Deletes the chat's link known by its code (its hash) or by its listed id."""
    result: str = await connection.execute(
        """DELETE FROM chat_invites
           WHERE chat_id = $1 AND (code_hash = $2 OR left(code_hash, 16) = $3)""",
        chat_id,
        code_hash,
        invite_id,
    )
    return result != "DELETE 0"


async def delete_expired_invites(connection: asyncpg.Connection, limit: int) -> int:
    result: str = await connection.execute(
        """DELETE FROM chat_invites WHERE code_hash IN (
              SELECT code_hash FROM chat_invites WHERE expires_at <= now()
              LIMIT $1 FOR UPDATE SKIP LOCKED)""",
        limit,
    )
    return int(result.split()[-1])


async def delete_old_join_requests(
    connection: asyncpg.Connection, limit: int, age_seconds: int
) -> int:
    result: str = await connection.execute(
        """DELETE FROM join_requests WHERE id IN (
              SELECT id FROM join_requests
              WHERE decided_at < now() - make_interval(secs => $2)
              LIMIT $1 FOR UPDATE SKIP LOCKED)""",
        limit,
        age_seconds,
    )
    return int(result.split()[-1])


JOIN_REQUEST_COLUMNS = """r.id, r.chat_id, r.user_id, r.status, r.created_at,
    u.username, u.image"""


async def pending_request_of(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await connection.fetchrow(
        f"""SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests r JOIN users u ON u.id = r.user_id
            WHERE r.chat_id = $1 AND r.user_id = $2 AND r.status = 'pending'""",
        chat_id,
        user_id,
    )
    return row


async def last_rejection(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> datetime | None:
    decided: datetime | None = await connection.fetchval(
        """SELECT max(decided_at) FROM join_requests
           WHERE chat_id = $1 AND user_id = $2 AND status = 'rejected'""",
        chat_id,
        user_id,
    )
    return decided


async def file_join_request(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> tuple[asyncpg.Record, bool]:
    """The person's pending request for the chat, and whether it was filed now (the pending
    index settles two at once: one is filed, the other finds it)."""
    filed = await connection.fetchval(
        """INSERT INTO join_requests (chat_id, user_id) VALUES ($1, $2)
           ON CONFLICT (chat_id, user_id) WHERE status = 'pending' DO NOTHING
           RETURNING true""",
        chat_id,
        user_id,
    )
    row = await pending_request_of(connection, chat_id, user_id)
    assert row is not None  # filed now, or by the twin whose insert we waited for
    return row, bool(filed)


async def pending_join_requests(
    connection: asyncpg.Connection, chat_id: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests r JOIN users u ON u.id = r.user_id
            WHERE r.chat_id = $1 AND r.status = 'pending' ORDER BY r.id""",
        chat_id,
    )
    return rows


async def decide_join_request(
    connection: asyncpg.Connection, chat_id: int, request_id: int, status: str
) -> asyncpg.Record | None:
    """Settles a pending request once; None when there is no such pending request."""
    row: asyncpg.Record | None = await connection.fetchrow(
        f"""WITH decided AS (
              UPDATE join_requests SET status = $3, decided_at = now()
              WHERE id = $2 AND chat_id = $1 AND status = 'pending' RETURNING *)
            SELECT {JOIN_REQUEST_COLUMNS} FROM decided r JOIN users u ON u.id = r.user_id""",
        chat_id,
        request_id,
        status,
    )
    return row
