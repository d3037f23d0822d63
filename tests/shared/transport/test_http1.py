"""The lean HTTP/1.1 client against real servers on real sockets: aiohttp's, and a scripted
raw server for the framings and failures aiohttp would never produce on purpose."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.transport import http1

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Script], Awaitable[int]]]:
    servers: list[asyncio.Server] = []
    handlers: set[asyncio.Task[None]] = set()

    async def start(script: Script) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await script(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for task in handlers:
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def echo_server() -> AsyncIterator[TestServer]:
    connections: list[int] = []

    async def echo(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        transport = request.transport
        assert transport is not None
        connections.append(id(transport))
        if request.path == "/stream":
            response = web.StreamResponse()
            await response.prepare(request)  # chunked: no length known
            for index in range(5):
                await response.write(b"%d," % index * 100_000)
            await response.write_eof()
            return response
        return web.json_response(
            {
                "method": request.method,
                "path": request.raw_path,
                "body": body.decode(),
                "header": request.headers.get("X-Test"),
                "connections": len(set(connections)),
            }
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_requests_reuse_one_kept_alive_connection(echo_server: TestServer) -> None:
    client = http1.Client()
    try:
        for number in range(3):
            response = await client.request(
                "127.0.0.1",
                echo_server.port or 0,
                "POST",
                "/a%2Fb?x=1",
                [("X-Test", f"n{number}"), ("Content-Type", "text/plain")],
                b"hello",
                time_limit=5,
            )
            assert response.status == 200
            assert response.header("content-type") == "application/json; charset=utf-8"
            body = json.loads(await response.read())
            assert body["path"] == "/a%2Fb?x=1"  # sent exactly as given
            assert body["body"] == "hello"
            assert body["header"] == f"n{number}"
        assert body["connections"] == 1
    finally:
        await client.close()


async def test_chunked_response_streams_in_pieces(echo_server: TestServer) -> None:
    client = http1.Client()
    try:
        response = await client.request(
            "127.0.0.1", echo_server.port or 0, "GET", "/stream", [], time_limit=5
        )
        assert response.content_length is None
        pieces = [chunk async for chunk in response.iter_chunks()]
        assert len(pieces) > 1
        assert b"".join(pieces) == b"".join(b"%d," % index * 100_000 for index in range(5))
        # The connection went back to the pool and serves the next request.
        again = await client.request(
            "127.0.0.1", echo_server.port or 0, "GET", "/", [], time_limit=5
        )
        assert json.loads(await again.read())["connections"] == 1
    finally:
        await client.close()


async def test_head_answer_has_no_body_and_keeps_the_connection(
    raw_server: Callable[[Script], Awaitable[int]],
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert (await read_head(reader)).startswith(b"HEAD ")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        assert (await read_head(reader)).startswith(b"GET ")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    port = await raw_server(script)
    client = http1.Client()
    try:
        head = await client.request("127.0.0.1", port, "HEAD", "/", [], time_limit=5)
        assert head.content_length == 1000
        assert await head.read() == b""
        get = await client.request("127.0.0.1", port, "GET", "/", [], time_limit=5)
        assert await get.read() == b"ok"
    finally:
        await client.close()


async def test_interim_answer_is_skipped_and_close_delimited_body_is_read(
    raw_server: Callable[[Script], Awaitable[int]],
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
        writer.write(b"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    port = await raw_server(script)
    client = http1.Client()
    try:
        response = await client.request("127.0.0.1", port, "GET", "/", [], time_limit=5)
        assert response.status == 201
        assert response.header("Link") is None
        assert await response.read() == b"until the end"
    finally:
        await client.close()


async def test_refused_connection_is_connect_failed(
    raw_server: Callable[[Script], Awaitable[int]],
) -> None:
    async def nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    port = await raw_server(nothing)
    client = http1.Client()
    try:
        with pytest.raises(http1.ConnectFailed):
            # A port that was just free: nothing listens there.
            await client.request("127.0.0.1", 1, "GET", "/", [], time_limit=5)
        with pytest.raises(http1.Disconnected) as caught:
            await client.request("127.0.0.1", port, "GET", "/", [], time_limit=5)
        assert caught.value.reused is False
    finally:
        await client.close()


async def test_close_of_a_kept_alive_connection_is_a_reused_disconnect(
    raw_server: Callable[[Script], Awaitable[int]],
) -> None:
    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await read_head(reader)  # the second request: closed without an answer
        writer.close()

    port = await raw_server(once)
    client = http1.Client()
    try:
        first = await client.request("127.0.0.1", port, "GET", "/", [], time_limit=5)
        assert await first.read() == b"ok"
        with pytest.raises(http1.Disconnected) as caught:
            await client.request("127.0.0.1", port, "GET", "/", [], time_limit=5)
        assert caught.value.reused is True
    finally:
        await client.close()


async def test_a_server_ending_an_idle_connection_is_told_as_going_away(
    raw_server: Callable[[Script], Awaitable[int]],
) -> None:
    async def answer_then_leave(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.05)  # the connection is idle in the pool by now
        writer.close()  # as a stopping server, or the kernel for a process that died

    port = await raw_server(answer_then_leave)
    told: list[tuple[str, int]] = []
    client = http1.Client(keepalive=30, on_peer_closed=lambda host, p: told.append((host, p)))
    try:
        response = await client.request("127.0.0.1", port, "GET", "/", [], time_limit=5)
        assert await response.read() == b"ok"
        for _ in range(100):
            if told:
                break
            await asyncio.sleep(0.02)
        assert told == [("127.0.0.1", port)]
    finally:
        await client.close()


async def test_idle_connections_past_our_keep_alive_or_closed_by_us_tell_nothing(
    raw_server: Callable[[Script], Awaitable[int]],
) -> None:
    ended = asyncio.Event()

    async def answer_then_leave_late(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.3)  # past the client's keep-alive: the server's own time-out
        writer.close()
        ended.set()

    async def answer_and_stay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read()  # until the client closes

    late, staying = await raw_server(answer_then_leave_late), await raw_server(answer_and_stay)
    told: list[tuple[str, int]] = []
    client = http1.Client(keepalive=0.1, on_peer_closed=lambda host, p: told.append((host, p)))
    try:
        for port in (late, staying):
            response = await client.request("127.0.0.1", port, "GET", "/", [], time_limit=5)
            assert await response.read() == b"ok"
        await asyncio.wait_for(ended.wait(), 5)
        await asyncio.sleep(0.1)
    finally:
        await client.close()
    await asyncio.sleep(0.05)
    assert told == []


async def test_time_limit_covers_the_headers_and_the_body(
    raw_server: Callable[[Script], Awaitable[int]],
) -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_head(reader)
        if b"/body" in head:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            await writer.drain()
        await asyncio.sleep(5)
        writer.close()

    port = await raw_server(slow)
    client = http1.Client()
    try:
        with pytest.raises(TimeoutError):
            await client.request("127.0.0.1", port, "GET", "/headers", [], time_limit=0.2)
        response = await client.request("127.0.0.1", port, "GET", "/body", [], time_limit=0.2)
        with pytest.raises(TimeoutError):
            await response.read()
    finally:
        await client.close()


async def test_garbage_answer_is_a_protocol_error(
    raw_server: Callable[[Script], Awaitable[int]],
) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    port = await raw_server(garbage)
    client = http1.Client()
    try:
        with pytest.raises(http1.ProtocolError):
            await client.request("127.0.0.1", port, "GET", "/", [], time_limit=5)
    finally:
        await client.close()


async def test_pool_limit_queues_requests_instead_of_failing(echo_server: TestServer) -> None:
    client = http1.Client(limit_per_host=2)

    async def call(number: int) -> dict[str, Any]:
        response = await client.request(
            "127.0.0.1", echo_server.port or 0, "GET", f"/{number}", [], time_limit=5
        )
        body: dict[str, Any] = json.loads(await response.read())
        return body

    try:
        bodies = await asyncio.gather(*(call(number) for number in range(20)))
        assert [body["path"] for body in bodies] == [f"/{number}" for number in range(20)]
        assert max(body["connections"] for body in bodies) <= 2
    finally:
        await client.close()


async def test_a_host_whose_connections_are_all_gone_is_forgotten_when_a_new_one_appears(
    echo_server: TestServer,
) -> None:
    async def server() -> TestServer:
        started = TestServer(web.Application(), host="127.0.0.1")
        await started.start_server()
        return started

    gone, kept = await server(), await server()
    client = http1.Client()
    try:
        for port in (gone.port, kept.port):
            response = await client.request("127.0.0.1", port or 0, "GET", "/", [], time_limit=5)
            await response.read()
        await gone.close()  # a replica that left: its kept-alive connection closes
        await asyncio.sleep(0.1)
        response = await client.request(
            "127.0.0.1", echo_server.port or 0, "GET", "/", [], time_limit=5
        )
        await response.read()
        known = {port for _, port in client._pools}
        # The departed host's entry is dropped; one with a connection kept alive stays.
        assert known == {kept.port, echo_server.port}
    finally:
        await client.close()
        await kept.close()
