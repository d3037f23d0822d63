"""A client that drops a download is not an error in the gateway's log."""

from __future__ import annotations

import asyncio
import io
import json
from urllib.parse import urlsplit

import aiohttp

from tests.factories import call, signup
from tests.stack import Stack


async def test_a_dropped_download_logs_no_error(
    api: aiohttp.ClientSession, running_stack: Stack
) -> None:
    jake = await signup(api, "jake")
    token = jake["token"]
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(b"x" * (4 * 1024 * 1024)), filename="big.bin")
    status, body = await call(api, "POST", "/api/chat/attachments", token, data=form)
    assert status == 201, body
    attachment = body["attachment"]["id"]
    log = running_stack.data_dir / "gateway-1.log"
    before = log.stat().st_size
    url = urlsplit(running_stack.url)
    for _ in range(3):
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(
            f"GET /api/chat/attachments/{attachment} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Token {token}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        await reader.readexactly(64 * 1024)
        writer.transport.abort()
    await asyncio.sleep(1.0)
    with log.open("rb") as file:
        file.seek(before)
        lines = [json.loads(line) for line in file.read().splitlines() if line.startswith(b"{")]
    errors = [line for line in lines if line.get("level") in ("error", "ERROR", "critical")]
    assert errors == []
    assert (await call(api, "GET", "/api/user", token))[0] == 200
