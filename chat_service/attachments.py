"""Files posted in chats: uploaded by a member, attached to messages, downloaded only by the
members of a chat where one was posted, and removed once nothing shows them."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import asyncpg
from aiohttp import MultipartReader

from chat_service.queries import attachments as q_attachments
from shared.data.files import Storage, new_file_id, receive_file
from shared.web.errors import NotFound
from shared.web.identity import Caller

log = logging.getLogger(__name__)

# Types a browser shows without running anything; every other file is served as bytes.
INERT_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/webp",
        "text/plain",
        "text/csv",
        "audio/mpeg",
        "audio/ogg",
        "video/mp4",
        "video/webm",
    }
)
_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\"\\/]")
MAX_NAME = 200


def clean_filename(name: str) -> str:
    """The file's own name without any path or control characters, never empty. Clients
    percent-escape what a multipart header cannot hold (browsers `"` as %22, aiohttp all
    non-ASCII): the escapes are undone first."""
    base = unquote(name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")[:MAX_NAME]
    return cleaned or "file"


def clean_type(declared: str) -> str:
    value = declared.split(";", 1)[0].strip().lower()
    return value if _TYPE.fullmatch(value) else "application/octet-stream"


def served_type(content_type: str) -> str:
    return content_type if content_type in INERT_TYPES else "application/octet-stream"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name in RFC 5987 form."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def attachment_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "filename": row["filename"],
        "contentType": row["content_type"],
        "size": row["size"],
    }


@dataclass(frozen=True)
class Download:
    path: Path
    filename: str
    content_type: str
    size: int


class Attachments:
    def __init__(self, pool: asyncpg.Pool, storage: Storage, limit: int) -> None:
        self.pool = pool
        self.storage = storage
        self.limit = limit

    async def upload(self, caller: Caller, reader: MultipartReader) -> dict[str, Any]:
        received = await receive_file(reader, self.storage.spool, self.limit)
        file_id = new_file_id()
        try:
            await self.storage.save(file_id, received.path)
            async with self.pool.acquire() as connection:
                row = await q_attachments.insert_attachment(
                    connection,
                    file_id,
                    caller.id,
                    clean_filename(received.filename),
                    clean_type(received.content_type),
                    received.size,
                )
        except BaseException:
            await self.storage.delete(file_id)
            received.path.unlink(missing_ok=True)
            raise
        return attachment_json(row)

    async def download(self, caller: Caller, file_id: str) -> Download:
        if not (file_id.isascii() and file_id.isalnum()):
            raise NotFound("attachment not found")
        async with self.pool.acquire() as connection:
            row = await q_attachments.visible_attachment(connection, file_id, caller.id)
        if row is None:
            raise NotFound("attachment not found")
        return Download(
            self.storage.path(file_id),
            row["filename"],
            served_type(row["content_type"]),
            row["size"],
        )

    async def remove_files(self, file_ids: Iterable[str]) -> None:
        for file_id in file_ids:
            await self.storage.delete(file_id)

    async def remove_orphans(self, age_seconds: int, batch_size: int) -> int:
        """Deletes files uploaded long ago and shown by no message; each by one replica."""
        async with self.pool.acquire() as connection, connection.transaction():
            gone = await q_attachments.delete_orphan_attachments(
                connection, age_seconds, batch_size
            )
        await self.remove_files(gone)
        return len(gone)
