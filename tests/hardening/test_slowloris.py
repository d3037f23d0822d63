"""Requests that never finish arriving (slowloris): heads are cut off, stalled bodies get 408.

Raw sockets, since an HTTP client always sends whole requests. The gateway runs in this
process on the server runner every process uses; a service runs as its own process
(`python -m auth_service`), its deadlines read from the environment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from devstack import stack
from devstack.embedded import free_port
from gateway.app import create_app
from gateway.settings import GatewaySettings
from shared.service.deadlines import ReadDeadlines, start_server
from shared.settings import Env
from tests.factories import FAST_HASHING
from tests.gateway.conftest import Echo, url_of
from tests.infra import Infra

DEADLINES = ReadDeadlines(headers=0.5, body_idle=1.0)
# A bound on how long a test waits for the server, far above the deadlines: not a measure.
PATIENCE = 10.0
HEAD_ONLY = b"GET /api/tags HTTP/1.1\r\nHost: chopchop\r\nX-Pad: "  # never ends
STALLED_BODY = (
    b"POST /api/users HTTP/1.1\r\nHost: chopchop\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n" + b'{"user": {'  # 10 of the 100 bytes
)


@pytest.fixture
async def gateway_port(infra: Infra, echoes: dict[str, Echo]) -> AsyncIterator[int]:
    env = infra.env(**{f"{name.upper()}_URL": url_of(echo) for name, echo in echoes.items()})
    app = create_app(GatewaySettings.from_env(Env(env)))
    port = free_port()
    runner = await start_server(app, "127.0.0.1", port, DEADLINES)
    try:
        yield port
    finally:
        await runner.cleanup()


@pytest.fixture(scope="module")
def auth_port(infra: Infra) -> Iterator[int]:
    port = free_port()
    env = infra.env(
        AUTH_PORT=str(port), HEADER_READ_TIMEOUT="0.5", BODY_READ_TIMEOUT="1", **FAST_HASHING
    )
    process = stack.start(stack.ProcessSpec("auth-slowloris", "auth_service", port, env))
    try:
        stack.wait_ready(f"http://127.0.0.1:{port}/health/ready", 30, process)
        yield port
    finally:
        stack.stop([process])


async def send(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """All the server sends until it closes the connection."""
    async with asyncio.timeout(PATIENCE):
        return await reader.read(-1)


async def one_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    async with asyncio.timeout(PATIENCE):
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name:
                fields[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(fields.get("content-length", "0")))
    return int(head[0].split(" ")[1]), fields, body


def parse(raw: bytes) -> tuple[int, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


async def check_head_cut_off(port: int) -> None:
    reader, writer = await send(port, HEAD_ONLY)
    try:
        assert await until_closed(reader) == b""  # closed, nothing answered
    finally:
        writer.close()


async def check_stalled_body_answered_408(port: int) -> None:
    reader, writer = await send(port, STALLED_BODY)
    try:
        status, body = parse(await until_closed(reader))  # answered, then closed
    finally:
        writer.close()
    assert status == 408
    assert body == {"errors": {"body": ["the request body stopped arriving for 1 s"]}}


async def test_the_gateway_closes_a_connection_whose_head_never_completes(
    gateway_port: int,
) -> None:
    await check_head_cut_off(gateway_port)


async def test_the_gateway_answers_408_to_a_body_that_stops_arriving(gateway_port: int) -> None:
    await check_stalled_body_answered_408(gateway_port)


async def test_the_gateway_answers_408_to_an_upload_that_stops_arriving(
    gateway_port: int,
    echoes: dict[str, Echo],
) -> None:
    token = echoes["auth"].keys.issue(7, "jake", "s").token
    head = (
        "POST /api/media HTTP/1.1\r\nHost: chopchop\r\n"
        f"Authorization: Token {token}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000\r\n\r\n"
    )
    reader, writer = await send(gateway_port, head.encode() + b"--b\r\nContent-")
    try:
        status, body = parse(await until_closed(reader))
    finally:
        writer.close()
    assert status == 408
    assert body["errors"]["body"] == ["the request body stopped arriving for 1 s"]


async def test_a_kept_alive_connection_may_idle_longer_than_the_head_deadline(
    gateway_port: int,
) -> None:
    request = b"GET /api/tags HTTP/1.1\r\nHost: chopchop\r\n\r\n"
    reader, writer = await send(gateway_port, request)
    try:
        assert (await one_response(reader))[0] == 200
        await asyncio.sleep(DEADLINES.headers * 3)  # idle between requests is keep-alive's
        writer.write(request)
        assert (await one_response(reader))[0] == 200
    finally:
        writer.close()


async def test_a_slow_body_that_keeps_arriving_is_not_cut_off(gateway_port: int) -> None:
    body = b'{"user": {}}' + b" " * 48
    head = (
        b"POST /api/users HTTP/1.1\r\nHost: chopchop\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    reader, writer = await send(gateway_port, head)
    try:
        # Longer in all than the body deadline, but never idle for as long.
        for offset in range(0, len(body), 10):
            await asyncio.sleep(DEADLINES.body_idle / 5)
            writer.write(body[offset : offset + 10])
        status, _, answer = await one_response(reader)
    finally:
        writer.close()
    assert status == 200
    assert json.loads(answer)["service"] == "auth"


async def test_a_websocket_through_the_gateway_may_stay_quiet_past_both_deadlines(
    gateway_port: int,
    echoes: dict[str, Echo],
) -> None:
    token = echoes["chat"].keys.issue(7, "jake", "s").token
    url = f"ws://127.0.0.1:{gateway_port}/api/chat/ws?token={token}"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str("hello")
        assert (await ws.receive(timeout=PATIENCE)).data == "echo:hello"
        await asyncio.sleep(DEADLINES.body_idle * 1.5)
        await ws.send_str("still here")
        assert (await ws.receive(timeout=PATIENCE)).data == "echo:still here"


async def test_a_service_closes_a_connection_whose_head_never_completes(auth_port: int) -> None:
    await check_head_cut_off(auth_port)


async def test_a_service_answers_408_to_a_body_that_stops_arriving(auth_port: int) -> None:
    await check_stalled_body_answered_408(auth_port)


def test_the_deadlines_default_to_10_and_30_seconds() -> None:
    assert ReadDeadlines.from_env(Env({})) == ReadDeadlines(headers=10.0, body_idle=30.0)
    assert ReadDeadlines.from_env(
        Env({"HEADER_READ_TIMEOUT": "2", "BODY_READ_TIMEOUT": "5"})
    ) == ReadDeadlines(headers=2.0, body_idle=5.0)
