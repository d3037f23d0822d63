"""Uploaded images: their type is detected from the bytes, whatever the client declared."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import MultipartReader

from shared.data.files import receive_file
from shared.web.errors import ValidationFailed


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


async def receive_image(
    reader: MultipartReader, spool_dir: Path, limit: int
) -> tuple[Path, str, int]:
    """Streams the `file` part to a temporary file; returns its path, type and size."""
    received = await receive_file(reader, spool_dir, limit)
    content_type = detect_image_type(received.head)
    if content_type is None:
        await asyncio.to_thread(received.path.unlink, True)
        raise ValidationFailed(
            "the file is not a JPEG, PNG, WebP or GIF image",
            fields={"file": ["must be a JPEG, PNG, WebP or GIF image"]},
        )
    return received.path, content_type, received.size
