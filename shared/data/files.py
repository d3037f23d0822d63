"""Uploaded files: streamed to disk under a size limit, then kept in a storage that replicas
share (a local directory by default, a volume in a deployment). posts' media and chat's
attachments both go through it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiohttp import BodyPartReader, MultipartReader

from shared.web.errors import BadRequest, PayloadTooLarge, ValidationFailed

CHUNK = 64 * 1024
HEAD = 16  # bytes kept from the start of a file, to tell its type


class Storage(Protocol):
    """Where uploaded bytes live; replicas share one."""

    async def save(self, file_id: str, source: Path) -> None: ...

    def path(self, file_id: str) -> Path: ...

    async def delete(self, file_id: str) -> None: ...

    @property
    def spool(self) -> Path: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def spool(self) -> Path:
        """Uploads in progress: on the same file system, so that saving is a rename."""
        return self.root / ".spool"

    async def save(self, file_id: str, source: Path) -> None:
        await asyncio.to_thread(self._move, file_id, source)

    def _move(self, file_id: str, source: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.replace(source, self.path(file_id))

    def path(self, file_id: str) -> Path:
        if not file_id.isalnum():
            raise ValueError("a stored file's id is letters and digits only")
        return self.root / file_id

    async def delete(self, file_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self.path(file_id).unlink)


@dataclass(frozen=True)
class Received:
    path: Path
    size: int
    filename: str
    content_type: str
    head: bytes


async def receive_file(reader: MultipartReader, spool_dir: Path, limit: int) -> Received:
    """Streams the `file` part to a temporary file, refusing it (413) as soon as it passes
    `limit` bytes; nothing is left behind on any failure.

    The body is one part named `file` and nothing else, as the OpenAPI document of every
    upload route says (shared/web/schemas.FILE_UPLOAD): any other part, before or after it,
    is refused (422), rather than read past unseen."""
    part = await reader.next()
    if part is None:
        raise BadRequest("the upload must be multipart/form-data with a 'file' part")
    if not isinstance(part, BodyPartReader) or part.name != "file":
        raise unexpected_part(part)
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
                if len(head) < HEAD:
                    head += chunk[: HEAD - len(head)]
                await asyncio.to_thread(output.write, chunk)
        extra = await reader.next()
        if extra is not None:
            raise unexpected_part(extra)
        return Received(
            path,
            size,
            part.filename or "file",
            part.headers.get("Content-Type", "application/octet-stream"),
            head,
        )
    except BaseException:
        await asyncio.to_thread(path.unlink, True)
        raise


ONLY_FILE = "the upload is one part named 'file' and nothing else"


def unexpected_part(part: MultipartReader | BodyPartReader) -> ValidationFailed:
    """The 422 for a part beside the one `file` part: named after it when it has a name."""
    name = part.name if isinstance(part, BodyPartReader) else None
    if name == "file":
        return ValidationFailed(fields={"file": ["must be sent once"]})
    if not name:
        return ValidationFailed(f"{ONLY_FILE}: a part without a name is not accepted")
    shown = name if len(name) <= 100 else name[:100] + "..."
    return ValidationFailed(fields={shown: [f"is not accepted: {ONLY_FILE}"]})


def new_file_id() -> str:
    return secrets.token_hex(16)
