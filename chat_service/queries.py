"""Every SQL statement of chat_service (asyncpg, $n parameters); callers open transactions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

# A message as every answer shows it: with its author's public face.
MESSAGE_COLUMNS = """
    m.id, m.chat_id, m.seq, m.author_id, m.body, m.reply_to, m.created_at, m.edited_at,
    m.deleted, m.expires_at, m.send_at, m.comments_count,
    u.username AS author_username, u.image AS author_image, u.deleted AS author_deleted,
    a.id AS attachment_id, a.filename AS attachment_filename,
    a.content_type AS attachment_content_type, a.size AS attachment_size
"""
MESSAGE_JOINS = (
    "JOIN users u ON u.id = m.author_id LEFT JOIN attachments a ON a.id = m.attachment_id"
)
MESSAGE_FROM = f"messages m {MESSAGE_JOINS}"
# Scheduled messages (no seq yet) and expired ones are in no read: expired ones are gone at
# once, whether or not the sweep removed them.
LIVE = "(m.seq IS NOT NULL AND (m.expires_at IS NULL OR m.expires_at > now()))"


def _ttl(general_ttl: str) -> str:
    """A new message's lifetime in its chat: the owner's setting, or for the general chat
    the service's (the parameter `general_ttl`); none for other chats."""
    return (
        f"COALESCE(message_ttl_seconds, CASE WHEN kind = 'general' THEN {general_ttl}::integer END)"
    )


# A chat as a member sees it in lists: counter, last message, unread count.
CHAT_COLUMNS = f"""
    c.id, c.kind, c.title, c.description, c.private, c.owner_id, c.message_ttl_seconds,
    c.created_at, c.last_seq, c.last_activity_at, me.role, me.read_seq,
    ou.username AS owner_username, ou.image AS owner_image,
    (SELECT u2.username FROM chat_members o JOIN users u2 ON u2.id = o.user_id
      WHERE c.kind = 'direct' AND o.chat_id = c.id AND o.user_id <> me.user_id LIMIT 1)
      AS peer_username,
    (SELECT count(*) FROM messages m
      WHERE m.chat_id = c.id AND m.seq > me.read_seq AND NOT m.deleted
        AND m.author_id <> me.user_id AND {LIVE}) AS unread_count,
    (SELECT row_to_json(last) FROM (
        SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
         WHERE m.chat_id = c.id AND {LIVE} ORDER BY m.seq DESC LIMIT 1) last) AS last_message
"""
CHAT_FROM = """chats c JOIN chat_members me ON me.chat_id = c.id
    LEFT JOIN users ou ON ou.id = c.owner_id"""


# Users.


async def upsert_user(
    connection: asyncpg.Connection, user_id: int, username: str, image: Any
) -> None:
    # Writers of one name (an event and a first use of the same account) take turns: ON
    # CONFLICT settles races on the id only, and the name's unique index would fail the second.
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtext('chat.users'), hashtext(lower($1)))", username
    )
    # A name taken over from an account whose rename we have not heard of yet: that account
    # keeps a placeholder until its own event arrives.
    await connection.execute(
        """UPDATE users SET username = username || '#' || id
           WHERE lower(username) = lower($2) AND id <> $1 AND NOT deleted""",
        user_id,
        username,
    )
    await connection.execute(
        """INSERT INTO users (id, username, image) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE
           SET username = EXCLUDED.username, image = EXCLUDED.image, updated_at = now()
           WHERE NOT users.deleted""",
        user_id,
        username,
        image,
    )


async def user_exists(connection: asyncpg.Connection, user_id: int) -> bool:
    found: bool | None = await connection.fetchval(
        "SELECT true FROM users WHERE id = $1 AND NOT deleted", user_id
    )
    return bool(found)


async def user_by_username(connection: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await connection.fetchrow(
        "SELECT id, username, image FROM users WHERE lower(username) = lower($1) AND NOT deleted",
        username,
    )
    return row


async def users_by_ids(
    connection: asyncpg.Connection, user_ids: Sequence[int]
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        "SELECT id, username, image FROM users WHERE id = ANY($1::bigint[]) AND NOT deleted",
        list(user_ids),
    )
    return rows


async def mark_user_deleted(connection: asyncpg.Connection, user_id: int) -> None:
    await connection.execute(
        "INSERT INTO users (id, username, deleted) VALUES ($1, '#' || $1::bigint, true) "
        "ON CONFLICT (id) DO UPDATE SET deleted = true, image = NULL, updated_at = now()",
        user_id,
    )


async def tombstone_messages_by(
    connection: asyncpg.Connection, user_id: int
) -> list[asyncpg.Record]:
    """Empties a departed account's messages (scheduled ones go); returns (id, chat_id, seq,
    attachment_id) of those changed."""
    await connection.execute("DELETE FROM messages WHERE author_id = $1 AND seq IS NULL", user_id)
    rows: list[asyncpg.Record] = await connection.fetch(
        """UPDATE messages m SET body = NULL, deleted = true, attachment_id = NULL
           FROM messages old WHERE old.id = m.id AND m.author_id = $1 AND NOT m.deleted
           RETURNING m.id, m.chat_id, m.seq, old.attachment_id""",
        user_id,
    )
    return rows


async def chats_owned_by(connection: asyncpg.Connection, user_id: int) -> list[int]:
    rows = await connection.fetch("SELECT id FROM chats WHERE owner_id = $1", user_id)
    return [row["id"] for row in rows]


async def member_chat_ids(
    connection: asyncpg.Connection, user_id: int, *, general: bool = True
) -> list[int]:
    rows = await connection.fetch(
        """SELECT m.chat_id FROM chat_members m JOIN chats c ON c.id = m.chat_id
           WHERE m.user_id = $1 AND ($2 OR c.kind <> 'general')""",
        user_id,
        general,
    )
    return [row["chat_id"] for row in rows]


# Chats and members.


async def ensure_general(connection: asyncpg.Connection) -> int:
    chat_id: int | None = await connection.fetchval(
        """INSERT INTO chats (kind, title) VALUES ('general', 'General')
           ON CONFLICT (kind) WHERE kind = 'general' DO NOTHING RETURNING id"""
    )
    if chat_id is None:
        chat_id = await connection.fetchval("SELECT id FROM chats WHERE kind = 'general'")
    assert chat_id is not None
    return chat_id


async def add_member(connection: asyncpg.Connection, chat_id: int, user_id: int, role: str) -> bool:
    """Adds a member whose marker starts at the chat's present: history is not unread."""
    added: bool | None = await connection.fetchval(
        """INSERT INTO chat_members (chat_id, user_id, role, read_seq)
           SELECT id, $2, $3, last_seq FROM chats WHERE id = $1
           ON CONFLICT DO NOTHING RETURNING true""",
        chat_id,
        user_id,
        role,
    )
    return bool(added)


async def remove_member(connection: asyncpg.Connection, chat_id: int, user_id: int) -> bool:
    result: str = await connection.execute(
        "DELETE FROM chat_members WHERE chat_id = $1 AND user_id = $2", chat_id, user_id
    )
    return result != "DELETE 0"


async def create_group(
    connection: asyncpg.Connection, owner_id: int, title: str, description: str, private: bool
) -> int:
    chat_id: int = await connection.fetchval(
        """INSERT INTO chats (kind, title, description, private, owner_id)
           VALUES ('group', $1, $2, $3, $4) RETURNING id""",
        title,
        description,
        private,
        owner_id,
    )
    return chat_id


async def get_or_create_direct(
    connection: asyncpg.Connection, first: int, second: int
) -> tuple[int, bool]:
    """The pair's direct chat, created when missing; settled by the unique key under races."""
    key = f"{min(first, second)}:{max(first, second)}"
    chat_id: int | None = await connection.fetchval(
        """INSERT INTO chats (kind, direct_key) VALUES ('direct', $1)
           ON CONFLICT (direct_key) DO NOTHING RETURNING id""",
        key,
    )
    if chat_id is not None:
        return chat_id, True
    existing: int = await connection.fetchval("SELECT id FROM chats WHERE direct_key = $1", key)
    return existing, False


async def membership(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> asyncpg.Record | None:
    """The chat and the caller's place in it, or None when the caller is not a member."""
    row: asyncpg.Record | None = await connection.fetchrow(
        """SELECT c.id, c.kind, c.owner_id, c.private, c.last_seq, me.role, me.read_seq
           FROM chats c JOIN chat_members me ON me.chat_id = c.id
           WHERE c.id = $1 AND me.user_id = $2""",
        chat_id,
        user_id,
    )
    return row


async def lock_membership(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> asyncpg.Record | None:
    """As `membership`, holding the chat's row until the transaction ends."""
    # The lock first, the member's place after it: read in the statement that waits for the
    # lock, the place would be as it was before whoever held the lock changed it (an owner
    # who left and made this member the owner).
    locked = await connection.fetchval("SELECT true FROM chats WHERE id = $1 FOR UPDATE", chat_id)
    if locked is None:
        return None
    return await membership(connection, chat_id, user_id)


async def chat_for_member(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        f"SELECT {CHAT_COLUMNS} FROM {CHAT_FROM} WHERE c.id = $1 AND me.user_id = $2",
        chat_id,
        user_id,
    )
    return row


async def chats_of(
    connection: asyncpg.Connection, user_id: int, limit: int, offset: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {CHAT_COLUMNS} FROM {CHAT_FROM} WHERE me.user_id = $1
            ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $2 OFFSET $3""",
        user_id,
        limit,
        offset,
    )
    return rows


async def count_chats_of(connection: asyncpg.Connection, user_id: int) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM chat_members WHERE user_id = $1", user_id
    )
    return count


async def positions_of(connection: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    """Per chat of the user: its last seq and the user's unread count (the websocket hello)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT c.id AS chat_id, c.kind, c.last_seq,
              (SELECT count(*) FROM messages m
                WHERE m.chat_id = c.id AND m.seq > me.read_seq AND NOT m.deleted
                  AND m.author_id <> me.user_id AND {LIVE}) AS unread_count
            FROM chats c JOIN chat_members me ON me.chat_id = c.id
            WHERE me.user_id = $1 ORDER BY c.id""",
        user_id,
    )
    return rows


async def last_seqs(connection: asyncpg.Connection, chat_ids: Sequence[int]) -> dict[int, int]:
    rows = await connection.fetch(
        "SELECT id, last_seq FROM chats WHERE id = ANY($1::bigint[])", list(chat_ids)
    )
    return {row["id"]: row["last_seq"] for row in rows}


async def members_of(
    connection: asyncpg.Connection, chat_id: int, limit: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT u.id, u.username, u.image, m.role FROM chat_members m
           JOIN users u ON u.id = m.user_id
           WHERE m.chat_id = $1 ORDER BY m.role = 'owner' DESC, m.joined_at, u.id LIMIT $2""",
        chat_id,
        limit,
    )
    return rows


async def count_members(connection: asyncpg.Connection, chat_id: int) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM chat_members WHERE chat_id = $1", chat_id
    )
    return count


async def update_chat(
    connection: asyncpg.Connection, chat_id: int, changes: dict[str, Any]
) -> None:
    columns = {
        "title": "title",
        "description": "description",
        "private": "private",
        "messageTtlSeconds": "message_ttl_seconds",
    }
    assignments = []
    values: list[Any] = []
    for field, column in columns.items():
        if field in changes:
            values.append(changes[field])
            assignments.append(f"{column} = ${len(values) + 1}")
    if assignments:
        await connection.execute(
            f"UPDATE chats SET {', '.join(assignments)} WHERE id = $1", chat_id, *values
        )


async def delete_chat(connection: asyncpg.Connection, chat_id: int) -> None:
    await connection.execute("DELETE FROM chats WHERE id = $1", chat_id)


async def oldest_other_member(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> int | None:
    successor: int | None = await connection.fetchval(
        """SELECT user_id FROM chat_members WHERE chat_id = $1 AND user_id <> $2
           ORDER BY joined_at, user_id LIMIT 1""",
        chat_id,
        user_id,
    )
    return successor


async def transfer_ownership(connection: asyncpg.Connection, chat_id: int, new_owner: int) -> None:
    await connection.execute("UPDATE chats SET owner_id = $2 WHERE id = $1", chat_id, new_owner)
    await connection.execute(
        "UPDATE chat_members SET role = 'owner' WHERE chat_id = $1 AND user_id = $2",
        chat_id,
        new_owner,
    )


# Messages.


async def insert_message(
    connection: asyncpg.Connection,
    chat_id: int,
    author_id: int,
    body: str,
    reply_to: int | None,
    general_ttl: int,
    attachment_id: str | None = None,
) -> asyncpg.Record:
    """Stores a message with its chat's next seq; the counter row's lock orders concurrent
    senders on every replica, and the seq commits (or rolls back) with the message."""
    row: asyncpg.Record = await connection.fetchrow(
        f"""WITH counter AS (
               UPDATE chats SET last_seq = last_seq + 1, last_activity_at = now()
               WHERE id = $1
               RETURNING last_seq, {_ttl("$5")} AS ttl
            ), stored AS (
               INSERT INTO messages (chat_id, seq, author_id, body, reply_to, expires_at,
                                     attachment_id)
               SELECT $1, last_seq, $2, $3, $4,
                      CASE WHEN ttl > 0 THEN now() + make_interval(secs => ttl) END, $6
               FROM counter
               RETURNING *
            )
            SELECT {MESSAGE_COLUMNS} FROM stored m {MESSAGE_JOINS}""",
        chat_id,
        author_id,
        body,
        reply_to,
        general_ttl,
        attachment_id,
    )
    return row


async def advance_read(connection: asyncpg.Connection, chat_id: int, user_id: int, seq: int) -> int:
    """Moves the member's marker forward to `seq` (never back, never past the last seq)."""
    read_seq: int | None = await connection.fetchval(
        """UPDATE chat_members me SET read_seq = GREATEST(me.read_seq, LEAST($3, c.last_seq))
           FROM chats c WHERE c.id = me.chat_id AND me.chat_id = $1 AND me.user_id = $2
           RETURNING me.read_seq""",
        chat_id,
        user_id,
        seq,
    )
    return read_seq or 0


async def unread_count(connection: asyncpg.Connection, chat_id: int, user_id: int) -> int:
    count: int = await connection.fetchval(
        f"""SELECT count(*) FROM messages m JOIN chat_members me
              ON me.chat_id = m.chat_id AND me.user_id = $2
            WHERE m.chat_id = $1 AND m.seq > me.read_seq AND NOT m.deleted
              AND m.author_id <> $2 AND {LIVE}""",
        chat_id,
        user_id,
    )
    return count


async def message_in_chat(
    connection: asyncpg.Connection, chat_id: int, message_id: int
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await connection.fetchrow(
        f"""SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
            WHERE m.chat_id = $1 AND m.id = $2 AND {LIVE}""",
        chat_id,
        message_id,
    )
    return row


async def messages_after(
    connection: asyncpg.Connection,
    chat_id: int,
    after_seq: int,
    limit: int,
    upto: int | None = None,
) -> list[asyncpg.Record]:
    """Oldest first: the messages after a seq (resume, unread, the page after a message)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
            WHERE m.chat_id = $1 AND m.seq > $2 AND ($4::bigint IS NULL OR m.seq <= $4)
              AND {LIVE}
            ORDER BY m.seq LIMIT $3""",
        chat_id,
        after_seq,
        limit,
        upto,
    )
    return rows


async def messages_before(
    connection: asyncpg.Connection, chat_id: int, before_seq: int | None, limit: int
) -> list[asyncpg.Record]:
    """Oldest first: the `limit` messages before a seq, or the last ones."""
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT * FROM (
              SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
              WHERE m.chat_id = $1 AND ($2::bigint IS NULL OR m.seq < $2) AND {LIVE}
              ORDER BY m.seq DESC LIMIT $3) page
            ORDER BY seq""",
        chat_id,
        before_seq,
        limit,
    )
    return rows


async def seq_of(connection: asyncpg.Connection, chat_id: int, message_id: int) -> int | None:
    seq: int | None = await connection.fetchval(
        "SELECT seq FROM messages WHERE chat_id = $1 AND id = $2", chat_id, message_id
    )
    return seq


async def edit_message(
    connection: asyncpg.Connection, chat_id: int, message_id: int, body: str
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        f"""WITH changed AS (
              UPDATE messages SET body = $3, edited_at = now()
              WHERE chat_id = $1 AND id = $2 RETURNING *)
            SELECT {MESSAGE_COLUMNS} FROM changed m {MESSAGE_JOINS}""",
        chat_id,
        message_id,
        body,
    )
    return row


async def tombstone_message(
    connection: asyncpg.Connection, chat_id: int, message_id: int
) -> str | None:
    """Empties a message, keeping its id and seq; returns the attachment it showed."""
    attachment: str | None = await connection.fetchval(
        """UPDATE messages m SET body = NULL, deleted = true, attachment_id = NULL
           FROM messages old WHERE old.id = m.id AND m.chat_id = $1 AND m.id = $2
           RETURNING old.attachment_id""",
        chat_id,
        message_id,
    )
    return attachment


async def delete_expired(connection: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Removes up to `limit` expired messages, each by one replica only."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """DELETE FROM messages WHERE id IN (
              SELECT id FROM messages WHERE expires_at <= now()
              ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING id, chat_id, seq, attachment_id""",
        limit,
    )
    return rows


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


async def file_join_request(
    connection: asyncpg.Connection, chat_id: int, user_id: int
) -> asyncpg.Record:
    """The person's pending request for the chat, filed now or earlier."""
    await connection.execute(
        """INSERT INTO join_requests (chat_id, user_id) VALUES ($1, $2)
           ON CONFLICT (chat_id, user_id) WHERE status = 'pending' DO NOTHING""",
        chat_id,
        user_id,
    )
    row: asyncpg.Record = await connection.fetchrow(
        f"""SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests r JOIN users u ON u.id = r.user_id
            WHERE r.chat_id = $1 AND r.user_id = $2 AND r.status = 'pending'""",
        chat_id,
        user_id,
    )
    return row


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


# Scheduled messages.


async def schedule_message(
    connection: asyncpg.Connection,
    chat_id: int,
    author_id: int,
    body: str | None,
    reply_to: int | None,
    attachment_id: str | None,
    send_at: datetime,
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        f"""WITH stored AS (
               INSERT INTO messages (chat_id, seq, author_id, body, reply_to, attachment_id,
                                     send_at)
               VALUES ($1, NULL, $2, $3, $4, $5, $6) RETURNING *)
            SELECT {MESSAGE_COLUMNS} FROM stored m {MESSAGE_JOINS}""",
        chat_id,
        author_id,
        body,
        reply_to,
        attachment_id,
        send_at,
    )
    return row


async def scheduled_of(
    connection: asyncpg.Connection, chat_id: int, author_id: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
            WHERE m.chat_id = $1 AND m.author_id = $2 AND m.seq IS NULL
            ORDER BY m.send_at, m.id""",
        chat_id,
        author_id,
    )
    return rows


async def cancel_scheduled(
    connection: asyncpg.Connection, chat_id: int, author_id: int, message_id: int
) -> tuple[bool, str | None]:
    """Deletes my scheduled message if it is not sent yet: whether there was one, and the
    attachment it carried."""
    row = await connection.fetchrow(
        """DELETE FROM messages
           WHERE id = $3 AND chat_id = $1 AND author_id = $2 AND seq IS NULL
           RETURNING attachment_id""",
        chat_id,
        author_id,
        message_id,
    )
    if row is None:
        return False, None
    attachment: str | None = row["attachment_id"]
    return True, attachment


async def take_due(connection: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Due scheduled messages, locked for this transaction, each taken by one replica; in
    chat order, so that transactions lock chats' counters in one order and never deadlock."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT id, chat_id, author_id FROM messages
           WHERE seq IS NULL AND send_at <= now()
           ORDER BY send_at LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )
    return sorted(rows, key=lambda row: (row["chat_id"], row["id"]))


async def deliver_scheduled(
    connection: asyncpg.Connection, message_id: int, chat_id: int, general_ttl: int
) -> asyncpg.Record:
    """Sends a scheduled message now: the chat's next seq, the delivery time, its expiry."""
    row: asyncpg.Record = await connection.fetchrow(
        f"""WITH counter AS (
               UPDATE chats SET last_seq = last_seq + 1, last_activity_at = now()
               WHERE id = $2
               RETURNING last_seq, {_ttl("$3")} AS ttl
            ), sent AS (
               UPDATE messages SET seq = counter.last_seq, send_at = NULL, created_at = now(),
                 expires_at = CASE WHEN counter.ttl > 0
                                   THEN now() + make_interval(secs => counter.ttl) END
               FROM counter WHERE messages.id = $1
               RETURNING messages.*
            )
            SELECT {MESSAGE_COLUMNS} FROM sent m {MESSAGE_JOINS}""",
        message_id,
        chat_id,
        general_ttl,
    )
    return row


async def postpone(connection: asyncpg.Connection, message_id: int, until: datetime) -> None:
    await connection.execute("UPDATE messages SET send_at = $2 WHERE id = $1", message_id, until)


async def drop_message(connection: asyncpg.Connection, message_id: int) -> str | None:
    attachment: str | None = await connection.fetchval(
        "DELETE FROM messages WHERE id = $1 RETURNING attachment_id", message_id
    )
    return attachment


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


# Comments on messages.


COMMENT_COLUMNS = """c.id, c.message_id, c.body, c.created_at,
    u.username AS author_username, u.image AS author_image, u.deleted AS author_deleted"""


async def insert_comment(
    connection: asyncpg.Connection, message_id: int, author_id: int, body: str
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        f"""WITH counted AS (
               UPDATE messages SET comments_count = comments_count + 1 WHERE id = $1
               RETURNING id
            ), stored AS (
               INSERT INTO message_comments (message_id, author_id, body)
               SELECT id, $2, $3 FROM counted RETURNING *
            )
            SELECT {COMMENT_COLUMNS} FROM stored c JOIN users u ON u.id = c.author_id""",
        message_id,
        author_id,
        body,
    )
    return row


async def comments_of(
    connection: asyncpg.Connection, message_id: int, limit: int, offset: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""SELECT {COMMENT_COLUMNS} FROM message_comments c JOIN users u ON u.id = c.author_id
            WHERE c.message_id = $1 ORDER BY c.id LIMIT $2 OFFSET $3""",
        message_id,
        limit,
        offset,
    )
    return rows


# Reports and bans.


async def lock_user(connection: asyncpg.Connection, user_id: int) -> None:
    await connection.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)


async def report_window_start(
    connection: asyncpg.Connection, user_id: int, period: timedelta
) -> datetime:
    """Reports count from a ban period ago, or from the end of the user's last ban if later:
    the reports that led to a ban do not lead to the next."""
    since: datetime = await connection.fetchval(
        """SELECT GREATEST(now() - $2::interval,
                           COALESCE(max(ends_at), '-infinity'::timestamptz))
           FROM bans WHERE user_id = $1""",
        user_id,
        period,
    )
    return since


async def has_reported(
    connection: asyncpg.Connection, reporter_id: int, reported_id: int, since: datetime
) -> bool:
    found: bool | None = await connection.fetchval(
        """SELECT true FROM reports
           WHERE reported_id = $2 AND reporter_id = $1 AND created_at > $3 LIMIT 1""",
        reporter_id,
        reported_id,
        since,
    )
    return bool(found)


async def insert_report(
    connection: asyncpg.Connection, reporter_id: int, reported_id: int, reason: str
) -> asyncpg.Record:
    row: asyncpg.Record = await connection.fetchrow(
        """INSERT INTO reports (reporter_id, reported_id, reason) VALUES ($1, $2, $3)
           RETURNING id, reason, created_at""",
        reporter_id,
        reported_id,
        reason,
    )
    return row


async def count_reporters(connection: asyncpg.Connection, reported_id: int, since: datetime) -> int:
    count: int = await connection.fetchval(
        """SELECT count(DISTINCT reporter_id) FROM reports
           WHERE reported_id = $1 AND created_at > $2""",
        reported_id,
        since,
    )
    return count


async def insert_ban(
    connection: asyncpg.Connection, user_id: int, reason: str, ends_at: datetime
) -> datetime:
    until: datetime = await connection.fetchval(
        "INSERT INTO bans (user_id, reason, ends_at) VALUES ($1, $2, $3) RETURNING ends_at",
        user_id,
        reason,
        ends_at,
    )
    return until


async def banned_until(connection: asyncpg.Connection, user_id: int) -> datetime | None:
    until: datetime | None = await connection.fetchval(
        "SELECT max(ends_at) FROM bans WHERE user_id = $1 AND ends_at > now()", user_id
    )
    return until


async def active_bans(connection: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT reason, starts_at, ends_at FROM bans
           WHERE user_id = $1 AND ends_at > now() ORDER BY ends_at DESC""",
        user_id,
    )
    return rows
