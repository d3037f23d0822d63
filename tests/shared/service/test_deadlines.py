"""A server shutting down finishes what it was sent and tells its clients to go elsewhere.

Raw sockets: a client library would hide which connection a request rides on. The server is
the runner every process uses (shared/service/deadlines.py), on a port of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from devstack.embedded import free_port
from shared.service.deadlines import DeadlineRunner, ReadDeadlines, start_server
from tests.waiting import until

DEADLINES = ReadDeadlines(headers=5.0, body_idle=5.0)
GRACE = 5.0  # long enough that the test finishes while the server still drains
# A bound on how long a test waits for the server: not a measure.
PATIENCE = 10.0
REQUEST = b"GET /dish HTTP/1.1\r\nHost: kitchen\r\n\r\n"


@dataclass
class Kitchen:
    port: int
    runner: DeadlineRunner
    release: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def kitchen() -> AsyncIterator[Kitchen]:
    async def dish(request: web.Request) -> web.Response:
        return web.Response(text="soup")

    async def slow_dish(request: web.Request) -> web.Response:
        served.started.set()
        await served.release.wait()
        return web.Response(text="stew")

    app = web.Application()
    app.router.add_get("/dish", dish)
    app.router.add_get("/slow", slow_dish)
    port = free_port()
    runner = await start_server(app, "127.0.0.1", port, DEADLINES, drain_grace=GRACE)
    served = Kitchen(port, runner)
    try:
        yield served
    finally:
        served.release.set()
        await runner.cleanup()


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    async with asyncio.timeout(PATIENCE):
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = {}
        for line in head[1:]:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(fields.get("content-length", "0")))
    return int(head[0].split()[1]), fields, body


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionError:  # refused, or reset if it came as the socket stopped listening
        return True
    writer.close()
    return False


async def shutting_down(kitchen: Kitchen) -> asyncio.Task[None]:
    """Starts the shutdown and returns once the server no longer accepts connections."""
    shutdown = asyncio.create_task(kitchen.runner.cleanup())
    await until(lambda: refused(kitchen.port), timeout=PATIENCE)
    return shutdown


async def test_a_request_on_an_idle_connection_during_shutdown_is_answered(
    kitchen: Kitchen,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", kitchen.port)
    try:
        writer.write(REQUEST)
        status, fields, _ = await answer(reader)
        assert status == 200 and "connection" not in fields  # kept alive, now idle
        shutdown = await shutting_down(kitchen)
        # The client did not know yet: its next request on the idle socket is still served,
        # and told to be the last one.
        writer.write(REQUEST)
        status, fields, body = await answer(reader)
        assert (status, body) == (200, b"soup")
        assert fields["connection"] == "close"
        async with asyncio.timeout(PATIENCE):
            assert await reader.read() == b""  # closed after the answer
        assert not shutdown.done()  # the grace is not over: nothing was cut short
    finally:
        writer.close()


async def test_a_request_in_flight_at_shutdown_finishes_and_closes_its_connection(
    kitchen: Kitchen,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", kitchen.port)
    try:
        writer.write(REQUEST.replace(b"/dish", b"/slow"))
        async with asyncio.timeout(PATIENCE):
            await kitchen.started.wait()
        await shutting_down(kitchen)
        kitchen.release.set()
        status, fields, body = await answer(reader)
        assert (status, body) == (200, b"stew")
        assert fields["connection"] == "close"
    finally:
        writer.close()


async def test_connections_still_idle_after_the_grace_are_closed() -> None:
    app = web.Application()
    port = free_port()
    runner = await start_server(app, "127.0.0.1", port, DEADLINES, drain_grace=0.1)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(PATIENCE):
            await runner.cleanup()
            assert await reader.read() == b""
    finally:
        writer.close()
