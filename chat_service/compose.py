"""The JSON shapes of API.md built from database rows: one builder per shape, used by the REST
answers, the websocket events and the replays alike, so that a message looks the same
whichever way it reaches a client."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.web.jsoncodec import dumps
from shared.web.timefmt import iso

GENERAL_TITLE = "General"


def _time(value: Any) -> str | None:
    """A timestamp from asyncpg (datetime) or from row_to_json (ISO text) as API.md writes it."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return iso(value)


def person(username: str | None, image: str | None) -> dict[str, Any]:
    return {"username": username, "image": image}


def message(row: Mapping[str, Any]) -> dict[str, Any]:
    author = None if row["author_deleted"] else person(row["author_username"], row["author_image"])
    attachment = (
        {
            "id": row["attachment_id"],
            "filename": row["attachment_filename"],
            "contentType": row["attachment_content_type"],
            "size": row["attachment_size"],
        }
        if row["attachment_id"] is not None
        else None
    )
    shown = {
        "id": row["id"],
        "chatId": row["chat_id"],
        "seq": row["seq"],
        "author": author,
        "body": None if row["deleted"] else row["body"],
        "attachment": attachment,
        "replyTo": row["reply_to"],
        "createdAt": _time(row["created_at"]),
        "editedAt": _time(row["edited_at"]),
        "deleted": row["deleted"],
        "expiresAt": _time(row["expires_at"]),
        "commentsCount": row["comments_count"],
    }
    if row["seq"] is None:
        shown["scheduled"] = True
        shown["sendAt"] = _time(row["send_at"])
    return shown


def comment(row: Mapping[str, Any]) -> dict[str, Any]:
    author = None if row["author_deleted"] else person(row["author_username"], row["author_image"])
    return {
        "id": row["id"],
        "messageId": row["message_id"],
        "author": author,
        "body": row["body"],
        "createdAt": _time(row["created_at"]),
    }


def chat(row: Mapping[str, Any], general_ttl: int) -> dict[str, Any]:
    kind = row["kind"]
    if kind == "general":
        title: str | None = GENERAL_TITLE
        ttl = row["message_ttl_seconds"] or (general_ttl or None)
    else:
        title = row["peer_username"] if kind == "direct" else row["title"]
        ttl = row["message_ttl_seconds"]
    owner = person(row["owner_username"], row["owner_image"]) if row["owner_username"] else None
    last = row["last_message"]
    return {
        "id": row["id"],
        "type": kind,
        "title": title,
        "description": row["description"],
        "private": row["private"],
        "owner": owner,
        "messageTtlSeconds": ttl,
        "createdAt": _time(row["created_at"]),
        "lastSeq": row["last_seq"],
        "lastMessage": message(last) if last is not None else None,
        "unreadCount": row["unread_count"],
    }


def join_request(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "chatId": row["chat_id"],
        "user": person(row["username"], row["image"]),
        "createdAt": _time(row["created_at"]),
        "status": row["status"],
    }


def membership_event(kind: str, chat_id: int, username: str | None, image: str | None) -> str:
    """`chat.member_joined` or `chat.member_left` for a person and a chat."""
    return event(kind, {"chatId": chat_id, "user": person(username, image)})


def event(kind: str, data: Any) -> str:
    """A server-to-client websocket frame."""
    return dumps({"type": kind, "data": data})
