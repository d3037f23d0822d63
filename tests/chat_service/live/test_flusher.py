"""A replica's writes to its sockets: every frame of a turn of the loop in one write per
socket, in the order pushed, and still in order once a socket falls behind."""

from __future__ import annotations

import asyncio
import socket as sockets_module
from collections.abc import AsyncIterator
from typing import cast

import pytest
from aiohttp import web
from aiohttp.base_protocol import BaseProtocol

from chat_service.live.sockets import Client, Flusher, text_frame
from tests.waiting import until


class _Peer:
    """The far end of a real socket pair: what it reads, and its reading held or not."""

    def __init__(self, sock: sockets_module.socket) -> None:
        self.sock = sock
        self.received = bytearray()

    async def read(self, size: int) -> bytes:
        loop = asyncio.get_running_loop()
        while len(self.received) < size:
            data = await asyncio.wait_for(loop.sock_recv(self.sock, 1 << 16), 5)
            assert data, "the connection closed early"
            self.received += data
        return bytes(self.received)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[asyncio.Transport, BaseProtocol, _Peer]]:
    loop = asyncio.get_running_loop()
    ours, theirs = sockets_module.socketpair()
    theirs.setblocking(False)
    theirs.setsockopt(sockets_module.SOL_SOCKET, sockets_module.SO_RCVBUF, 4096)
    ours.setsockopt(sockets_module.SOL_SOCKET, sockets_module.SO_SNDBUF, 4096)
    transport, protocol = await loop.create_connection(lambda: BaseProtocol(loop), sock=ours)
    try:
        yield transport, protocol, _Peer(theirs)
    finally:
        transport.close()
        theirs.close()


def _client(transport: asyncio.Transport, protocol: BaseProtocol, flusher: Flusher) -> Client:
    # The websocket response is only used to close, which these tests do not.
    ws = cast(web.WebSocketResponse, None)
    return Client(ws, transport, protocol, 1, "anna", queue_size=64, flusher=flusher)


async def test_frames_pushed_in_one_turn_arrive_whole_and_in_order(
    pair: tuple[asyncio.Transport, BaseProtocol, _Peer],
) -> None:
    transport, protocol, peer = pair
    client = _client(transport, protocol, Flusher())
    frames = [text_frame(f"event {n}") for n in range(3)]
    for frame in frames:
        client.push(frame)
    expected = b"".join(frames)
    assert await peer.read(len(expected)) == expected


async def test_frames_stay_in_order_when_the_socket_falls_behind_within_a_turn(
    pair: tuple[asyncio.Transport, BaseProtocol, _Peer],
) -> None:
    # The first turn's write outgrows what the transport takes at once (it pauses): the
    # next frames wait in the queue, and the writer sends them after it, in order.
    transport, protocol, peer = pair
    transport.set_write_buffer_limits(high=1024)
    client = _client(transport, protocol, Flusher())
    try:
        big = text_frame("x" * 500_000)
        client.push(big)
        await asyncio.sleep(0)  # the turn ends: written, and the transport is paused
        assert protocol.writing_paused
        later = [text_frame(f"after {n}") for n in range(5)]
        for frame in later:
            client.push(frame)
        expected = big + b"".join(later)
        assert await peer.read(len(expected)) == expected
    finally:
        client.stop()


async def test_a_socket_that_keeps_up_holds_no_writer_task(
    pair: tuple[asyncio.Transport, BaseProtocol, _Peer],
) -> None:
    # Thousands of idle sockets: a task each only while one falls behind.
    transport, protocol, peer = pair
    transport.set_write_buffer_limits(high=1024)
    client = _client(transport, protocol, Flusher())
    client.push(text_frame("small"))
    await asyncio.sleep(0)
    assert client._writer is None
    big = text_frame("y" * 500_000)
    client.push(big)
    await asyncio.sleep(0)  # written; the transport is paused
    client.push(text_frame("queued"))
    assert client._writer is not None
    expected = text_frame("small") + big + text_frame("queued")
    assert await peer.read(len(expected)) == expected
    await until(lambda: client._writer is None)  # gone once the queue is sent


async def test_one_flusher_serves_every_socket_of_the_turn(
    pair: tuple[asyncio.Transport, BaseProtocol, _Peer],
) -> None:
    transport, protocol, peer = pair
    flusher = Flusher()
    client = _client(transport, protocol, flusher)
    loop = asyncio.get_running_loop()
    ours, theirs = sockets_module.socketpair()
    theirs.setblocking(False)
    other_transport, other_protocol = await loop.create_connection(
        lambda: BaseProtocol(loop), sock=ours
    )
    try:
        other = _client(other_transport, other_protocol, flusher)
        event = text_frame("for both")
        client.push(event)
        other.push(event)
        assert flusher.holds(client) and flusher.holds(other)  # until the turn ends
        assert await peer.read(len(event)) == event
        assert await _Peer(theirs).read(len(event)) == event
        assert not flusher.holds(client) and not flusher.holds(other)
    finally:
        other_transport.close()
        theirs.close()
