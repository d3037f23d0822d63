"""Notifications (migration 010): stored once per source event, folded, listed, read, pruned."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

# One notification as the API shows it: the actor and the chat's title read at display time
# (renames show), the recipe's slug and title as last told by posts' events.
_COLUMNS = """n.id, n.type, n.recipient_id, n.article_slug, n.article_title, n.comment_id,
    n.comment_body, n.chat_id, n.message_id, n.message_seq, n.reason, n.created_at,
    n.read_at IS NOT NULL AS read, n.article_id,
    a.username AS actor_username, a.image AS actor_image,
    CASE c.kind WHEN 'general' THEN 'General'
         WHEN 'direct' THEN (SELECT u.username FROM chat_members m JOIN users u ON u.id = m.user_id
                             WHERE m.chat_id = c.id AND m.user_id <> n.recipient_id LIMIT 1)
         ELSE c.title END AS chat_title"""
_FROM = """notifications n
    LEFT JOIN users a ON a.id = n.actor_id AND NOT a.deleted
    LEFT JOIN chats c ON c.id = n.chat_id"""


async def store(
    connection: asyncpg.Connection,
    event_id: str,
    event_type: str,
    actor_id: int | None,
    actor_checked: bool,
    items: Sequence[dict[str, Any]],
    occurred_at: datetime,
    fold_seconds: int,
    live_head: tuple[str, str],
) -> list[asyncpg.Record]:
    """Stores an event's notifications once, folded, each with its live event, and the event
    as handled, in one statement of its own transaction (migration 011: call it outside a
    transaction); answers (live_event_id, recipient, event_text) per notification stored, or
    one row of nulls when the actor is unknown here and not `actor_checked` (nothing done).

    Folding is settled under a transaction-scoped advisory lock on the key, so two replicas
    handling two likes of one person at once store one."""
    scope, prefix = live_head
    rows: list[asyncpg.Record] = await connection.fetch(
        "SELECT * FROM store_notifications($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        event_id,
        event_type,
        actor_id,
        actor_checked,
        list(items),
        occurred_at,
        fold_seconds,
        scope,
        prefix,
    )
    return rows


async def page(
    connection: asyncpg.Connection,
    recipient_id: int,
    before: int | None,
    limit: int,
    kinds: Sequence[str] | None,
) -> list[asyncpg.Record]:
    """Newest first, older than `before`, of the `kinds` given (all when None)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE n.recipient_id = $1 AND ($2::bigint IS NULL OR n.id < $2)
              AND ($4::text[] IS NULL OR n.type = ANY($4::text[]))
            ORDER BY n.id DESC LIMIT $3""",
        recipient_id,
        before,
        limit,
        list(kinds) if kinds is not None else None,
    )
    return rows


async def unread_count(connection: asyncpg.Connection, recipient_id: int) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM notifications WHERE recipient_id = $1 AND read_at IS NULL",
        recipient_id,
    )
    return count


async def mark_read(
    connection: asyncpg.Connection,
    recipient_id: int,
    up_to: int | None,
    ids: Sequence[int] | None,
) -> int:
    """Marks the recipient's notifications up to an id and those of a list as read (every
    one when neither is given); how many changed."""
    result: str = await connection.execute(
        """UPDATE notifications SET read_at = now()
           WHERE recipient_id = $1 AND read_at IS NULL
             AND (($2::bigint IS NULL AND $3::bigint[] IS NULL)
                  OR ($2::bigint IS NOT NULL AND id <= $2)
                  OR ($3::bigint[] IS NOT NULL AND id = ANY($3::bigint[])))""",
        recipient_id,
        up_to,
        list(ids) if ids is not None else None,
    )
    return int(result.split()[-1])


# What goes with the things notifications point at.


async def delete_of_user(connection: asyncpg.Connection, user_id: int) -> int:
    """A deleted account's notifications: those it caused and those it received."""
    result: str = await connection.execute(
        "DELETE FROM notifications WHERE actor_id = $1 OR recipient_id = $1", user_id
    )
    return int(result.split()[-1])


async def delete_of_article(connection: asyncpg.Connection, article_id: int) -> int:
    """A deleted recipe's notifications (a moderator's removal, which tells of it, stays)."""
    result: str = await connection.execute(
        "DELETE FROM notifications WHERE article_id = $1 AND type <> 'moderation'", article_id
    )
    return int(result.split()[-1])


async def delete_of_comment(connection: asyncpg.Connection, comment_id: int) -> int:
    result: str = await connection.execute(
        "DELETE FROM notifications WHERE comment_id = $1 AND type <> 'moderation'", comment_id
    )
    return int(result.split()[-1])


async def rename_article(
    connection: asyncpg.Connection, article_id: int, slug: str, title: str | None
) -> None:
    await connection.execute(
        """UPDATE notifications SET article_slug = $2, article_title = coalesce($3, article_title)
           WHERE article_id = $1 AND type <> 'moderation'""",
        article_id,
        slug,
        title,
    )


async def prune(connection: asyncpg.Connection, older_than: float, limit: int) -> int:
    result: str = await connection.execute(
        """DELETE FROM notifications WHERE id IN (
               SELECT id FROM notifications
               WHERE created_at < now() - make_interval(secs => $1)
               ORDER BY created_at LIMIT $2)""",
        older_than,
        limit,
    )
    return int(result.split()[-1])


# Who a mention may reach.


async def members_named(
    connection: asyncpg.Connection, chat_id: int, usernames: Sequence[str]
) -> list[int]:
    """The ids of the chat's members among these names (without regard to case)."""
    rows = await connection.fetch(
        """SELECT u.id FROM users u JOIN chat_members m ON m.user_id = u.id AND m.chat_id = $1
           WHERE lower(u.username) = ANY($2::text[]) AND NOT u.deleted""",
        chat_id,
        [name.lower() for name in usernames],
    )
    return [row["id"] for row in rows]


async def delete_mentions_in_messages(
    connection: asyncpg.Connection, message_ids: Sequence[int]
) -> int:
    """The mentions made in these chat messages, deleted or expired: a mention shows its
    message, and goes with it (a moderator's removal, which tells of it, stays)."""
    result: str = await connection.execute(
        "DELETE FROM notifications WHERE message_id = ANY($1::bigint[]) AND type = 'mentioned'",
        list(message_ids),
    )
    return int(result.split()[-1])
