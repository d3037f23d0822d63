"""Uploaded images: type detected from the bytes, size limited, kept in a storage directory."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from pathlib import Path
from typing import Protocol

from aiohttp import BodyPartReader, MultipartReader

from shared.errors import BadRequest, PayloadTooLarge, ValidationFailed

CHUNK = 64 * 1024


def detect_image_type(head: bytes) -> str | None:
    """The image type its first bytes announce, whatever the client declared."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class Storage(Protocol):
    """Where media bytes live; replicas share one (a volume, or an object store)."""

    async def save(self, media_id: str, source: Path) -> None: ...

    def path(self, media_id: str) -> Path: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    async def save(self, media_id: str, source: Path) -> None:
        await asyncio.to_thread(self._move, media_id, source)

    def _move(self, media_id: str, source: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.replace(source, self.root / media_id)

    def path(self, media_id: str) -> Path:
        return self.root / media_id


async def receive_image(
    reader: MultipartReader, spool_dir: Path, limit: int
) -> tuple[Path, str, int]:
    """Streams the `file` part to a temporary file; returns its path, type and size."""
    part = await reader.next()
    while part is not None and (not isinstance(part, BodyPartReader) or part.name != "file"):
        part = await reader.next()
    if part is None:
        raise BadRequest("the upload must be multipart/form-data with a 'file' part")
    await asyncio.to_thread(spool_dir.mkdir, parents=True, exist_ok=True)
    handle, name = await asyncio.to_thread(tempfile.mkstemp, dir=spool_dir, prefix=".upload-")
    path = Path(name)
    size = 0
    head = b""
    try:
        with os.fdopen(handle, "wb") as output:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the file is larger than {limit} bytes")
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                await asyncio.to_thread(output.write, chunk)
        content_type = detect_image_type(head)
        if content_type is None:
            raise ValidationFailed(
                "the file is not a JPEG, PNG, WebP or GIF image",
                fields={"file": ["must be a JPEG, PNG, WebP or GIF image"]},
            )
        return path, content_type, size
    except BaseException:
        await asyncio.to_thread(path.unlink, True)
        raise


def new_media_id() -> str:
    return secrets.token_hex(16)
