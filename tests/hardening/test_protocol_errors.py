"""Requests aiohttp's parser refuses (an over-long URL or header, not HTTP at all) answered
in the error format, never in text/plain and never quoting the input."""

from __future__ import annotations

import asyncio
import json

from yarl import URL

from tests.stack import Stack

MARKER = "quoted-back"


async def exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    target = URL(url)
    assert target.host is not None and target.port is not None
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            raw = await reader.read(-1)  # the server closes after a protocol error
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def requests() -> list[bytes]:
    long_path = "/api/" + MARKER * 2000
    return [
        f"GET {long_path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /api/tags HTTP/1.1\r\nHost: x\r\nX-Long: {MARKER * 2000}\r\n\r\n".encode(),
        f"GET /api/tags HTTP/1.1\r\nHost: x\r\n{MARKER}\r\n\r\n".encode(),
        f"G\x01T /{MARKER} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /{MARKER} HTTP/9.9\r\nHost: x\r\n\r\n".encode(),
    ]


async def test_protocol_errors_at_the_gateway_are_in_the_api_format(
    running_stack: Stack,
) -> None:
    for request in requests():
        status, headers, body = await exchange(running_stack.url, request)
        assert 400 <= status < 500, (request[:40], body)
        assert headers["content-type"].startswith("application/json"), body
        assert json.loads(body)["errors"]["body"], body
        assert MARKER.encode() not in body
        assert headers.get("x-request-id")
