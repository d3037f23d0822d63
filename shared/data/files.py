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

from shared.web.errors import BadRequest, PayloadTooLarge

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
    `limit` bytes; nothing is left behind on any failure."""
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
                if len(head) < HEAD:
                    head += chunk[: HEAD - len(head)]
                await asyncio.to_thread(output.write, chunk)
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


def new_file_id() -> str:
    return secrets.token_hex(16)
