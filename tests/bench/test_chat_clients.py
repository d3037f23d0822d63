"""The chat benchmarks' client processes (bench/chat_clients.py), run in this process against
a small websocket server: every hot socket's messages are counted, whatever order the hot and
idle sockets opened in, and a socket that ends early is reported with why."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import WSMsgType, web

from bench.chat_clients import _clients

HOT, IDLE, MESSAGES = 3, 4, 5


class Server:
    def __init__(self) -> None:
        self.hot: list[web.WebSocketResponse] = []
        self.idle: list[web.WebSocketResponse] = []

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hot = request.path == "/hot"
        if hot:
            await asyncio.sleep(0.3)  # the idle sockets are open first
        await ws.send_str('{"type":"hello","data":{}}')
        (self.hot if hot else self.idle).append(ws)
        async for frame in ws:
            if frame.type is WSMsgType.ERROR:
                break
        return ws

    async def send(self, tag: str) -> None:
        for n in range(MESSAGES):
            event = {"type": "message.created", "data": {"body": f"{tag} {time.time()} {n}"}}
            for ws in self.hot:
                await ws.send_str(orjson.dumps(event).decode())


class Clients:
    """`_clients` as a task, driven over a pipe as the benchmark's parent drives it."""

    def __init__(self, base: str) -> None:
        self.parent, child = multiprocessing.Pipe()
        self.task = asyncio.create_task(
            _clients(child, [f"{base}/hot"] * HOT, [f"{base}/idle"] * IDLE, 10)
        )

    def send(self, command: tuple[Any, ...]) -> None:
        self.parent.send(command)

    async def recv(self) -> Any:
        if not await asyncio.to_thread(self.parent.poll, 10):
            raise TimeoutError("the clients said nothing for 10 s")
        return self.parent.recv()

    async def stop(self) -> None:
        if self.task.done():
            return
        with contextlib.suppress(OSError):
            self.send(("stop",))
        await asyncio.wait_for(self.task, 10)


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    state = Server()
    app = web.Application()
    app.router.add_get("/hot", state.socket)
    app.router.add_get("/idle", state.socket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield state, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def clients(server: tuple[Server, str]) -> AsyncIterator[Clients]:
    driven = Clients(server[1])
    try:
        yield driven
    finally:
        await driven.stop()


async def test_every_hot_socket_counts_its_messages_when_idle_sockets_opened_first(
    server: tuple[Server, str], clients: Clients
) -> None:
    state = server[0]

    assert await clients.recv() == (HOT + IDLE, {})
    clients.send(("round", "r1", MESSAGES, 3.0))
    assert await clients.recv() == "armed"
    await state.send("r1")
    result = await clients.recv()
    clients.send(("count",))
    live, endings = await clients.recv()

    assert len(result.delays_ms) == HOT * MESSAGES
    assert result.close_codes == []
    assert (live, endings) == (HOT + IDLE, [])


async def test_a_socket_the_server_closes_is_reported_with_its_close_code(
    server: tuple[Server, str], clients: Clients
) -> None:
    state = server[0]

    await clients.recv()
    await state.hot[0].close(code=1013, message=b"too slow")
    await state.idle[0].close(code=1001)
    for _ in range(50):
        clients.send(("count",))
        live, endings = await clients.recv()
        if live == HOT + IDLE - 2:
            break
        await asyncio.sleep(0.05)

    assert live == HOT + IDLE - 2
    assert sorted(endings) == ["1001", "1013"]
