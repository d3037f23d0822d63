"""Files: an upload streamed from disk, a download written under its sender's name made
safe, and complete before it appears."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import aiohttp

from chat_client.connection import Connection
from chat_client.errors import ApiError, ClientError
from chat_client.models import Attachment

DOWNLOAD_CHUNK = 64 * 1024


async def upload(connection: Connection, path: Path) -> Attachment:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with path.open("rb") as file:

        def form() -> dict[str, Any]:
            # A retry after a token renewal sends the file again from its start;
            # aiohttp streams it from the file in an executor, never all in memory.
            file.seek(0)
            data = aiohttp.FormData()
            data.add_field("file", file, filename=path.name, content_type=content_type)
            return {"data": data}

        async with connection.response("POST", "/api/chat/attachments", body=form) as response:
            answer = await response.json()
    return cast(Attachment, answer["attachment"])


async def download(
    connection: Connection, attachment_id: str, output: Path | None, *, force: bool
) -> Path:
    """Saves the file under its original name (in `output` if it is a folder). The
    target is checked before the file is asked for: a refusal costs no transfer."""
    path = f"/api/chat/attachments/{quote(attachment_id, safe='')}"
    target: Path | None = None
    folder = output is None or await asyncio.to_thread(output.is_dir)
    if not folder:
        target = await asyncio.to_thread(download_target, output, "", force=force)
    else:
        # Only the server knows the file's name: HEAD asks for it without the body.
        # A refusal is left to the GET, whose answer carries the server's sentence.
        with contextlib.suppress(ApiError):
            async with connection.response("HEAD", path) as response:
                name = filename_of(response, attachment_id)
            target = await asyncio.to_thread(download_target, output, name, force=force)
    async with connection.response("GET", path) as response:
        if target is None or (folder and target.name != filename_of(response, attachment_id)):
            name = filename_of(response, attachment_id)
            target = await asyncio.to_thread(download_target, output, name, force=force)
        # The file appears under its name only once it is complete.
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            with partial.open("wb") as file:
                async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK):
                    await asyncio.to_thread(file.write, chunk)
            await asyncio.to_thread(partial.replace, target)
        except aiohttp.ClientPayloadError as exc:
            raise ClientError(f"the download was cut off ({exc})") from exc
        finally:
            await asyncio.to_thread(partial.unlink, missing_ok=True)
    return target


def filename_of(response: aiohttp.ClientResponse, attachment_id: str) -> str:
    disposition = response.content_disposition
    return safe_filename(disposition.filename if disposition else None, attachment_id)


def safe_filename(name: str | None, attachment_id: str) -> str:
    """The sender chose the name: keep only its last part, so it cannot climb out of the
    download folder or hide as `..`."""
    name = Path((name or "").replace("\\", "/")).name.strip()
    name = "".join(ch for ch in name if ch.isprintable())
    if name in ("", ".", ".."):
        return f"attachment-{attachment_id}"
    return name


def download_target(output: Path | None, name: str, *, force: bool) -> Path:
    """`output` itself, or `name` inside it when it is a folder (the current one if None);
    refused when it exists and `force` was not given."""
    target = output if output is not None and not output.is_dir() else (output or Path()) / name
    if target.exists() and not force:
        raise ClientError(f"{target} already exists; pass --force to replace it")
    return target
