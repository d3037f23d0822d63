"""The columns and joins that several statements share: a message with its author, a chat as
a member sees it in lists."""

from __future__ import annotations

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


def message_ttl(general_ttl: str) -> str:
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
