"""Files posted in chats: uploads, claims by a message, visibility, orphans."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from chat_service.queries.columns import (
    LIVE,
)

# Attachments.


async def insert_attachment(
    connection: asyncpg.Connection,
    file_id: str,
    owner_id: int,
    filename: str,
    content_type: str,
    size: int,
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        """INSERT INTO attachments (id, owner_id, filename, content_type, size)
           VALUES ($1, $2, $3, $4, $5) RETURNING id, filename, content_type, size""",
        file_id,
        owner_id,
        filename,
        content_type,
        size,
    )
    return row


async def claim_attachment(connection: asyncpg.Connection, file_id: str, owner_id: int) -> bool:
    """Marks an upload of the owner as attached, holding it against the clean-up until the
    transaction ends; False when the owner has no such upload."""
    found: bool | None = await connection.fetchval(
        """UPDATE attachments SET attached = true WHERE id = $1 AND owner_id = $2
           RETURNING true""",
        file_id,
        owner_id,
    )
    return bool(found)


async def visible_attachment(
    connection: asyncpg.Connection, file_id: str, user_id: int
) -> asyncpg.Record | None:
    """The file when the user uploaded it, or is a member of a chat where it was posted."""
    row: asyncpg.Record | None = await connection.fetchrow(
        f"""SELECT a.id, a.filename, a.content_type, a.size FROM attachments a
            WHERE a.id = $1 AND (a.owner_id = $2 OR EXISTS (
              SELECT 1 FROM messages m JOIN chat_members cm
                ON cm.chat_id = m.chat_id AND cm.user_id = $2
              WHERE m.attachment_id = a.id AND NOT m.deleted AND {LIVE}))""",
        file_id,
        user_id,
    )
    return row


async def unreferenced(connection: asyncpg.Connection, file_ids: Sequence[str]) -> list[str]:
    """Of these files, those no message shows any more (removed with their last message)."""
    rows = await connection.fetch(
        """DELETE FROM attachments a WHERE a.id = ANY($1::text[])
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.attachment_id = a.id)
           RETURNING a.id""",
        list(file_ids),
    )
    return [row["id"] for row in rows]


async def delete_orphan_attachments(
    connection: asyncpg.Connection, age_seconds: int, limit: int
) -> list[str]:
    rows = await connection.fetch(
        """DELETE FROM attachments WHERE id IN (
              SELECT a.id FROM attachments a
              WHERE NOT a.attached AND a.created_at < now() - make_interval(secs => $1)
                AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.attachment_id = a.id)
              ORDER BY a.created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING id""",
        age_seconds,
        limit,
    )
    return [row["id"] for row in rows]


async def delete_attachments_of(connection: asyncpg.Connection, owner_id: int) -> list[str]:
    """A departed account's files that no message shows (its own messages were emptied)."""
    rows = await connection.fetch(
        """DELETE FROM attachments a WHERE a.owner_id = $1
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.attachment_id = a.id)
           RETURNING a.id""",
        owner_id,
    )
    return [row["id"] for row in rows]
