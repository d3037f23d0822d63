"""Keep-alive connections to one host, parsed by llhttp, and their pool."""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import Callable
from typing import cast

import httptools

from shared.transport.http1.response import (
    ConnectFailed,
    Disconnected,
    ProtocolError,
    Response,
    expire,
)


class Connection(asyncio.Protocol):
    def __init__(self, pool: HostPool, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = pool
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: Response | None = None
        self.closed = False
        self.used = 0  # requests sent on this connection
        self.idle_since = 0.0
        self._paused = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self.response is None:
            self.close()  # bytes nobody asked for: the connection is out of step
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.response._fail(ProtocolError(str(exc)))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        ended_by_peer = not self.closed
        self.closed = True
        response = self.response
        if ended_by_peer and response is None:
            self.pool.idle_ended(self)
        if response is not None and not response._complete:
            if response.status and response.close_delimited:
                response._finish()  # a body without a length ends when the connection does
            else:
                response._fail(
                    Disconnected("the connection closed before the response", reused=self.used > 1)
                )
        self.pool.lost(self)

    # llhttp callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.response is not None
        self.response.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        response = self.response
        assert response is not None
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            response.raw_headers.clear()  # an interim answer (103 Early Hints): not ours
            return
        response.status = status
        response.keep_alive = self.parser.should_keep_alive()
        chunked = False
        for name, value in response.raw_headers:
            lowered = name.lower()
            if lowered == b"content-length":
                response.content_length = int(value)
            elif lowered == b"transfer-encoding":
                chunked = True
        response.close_delimited = (
            response.content_length is None and not chunked and status not in (204, 304)
        )
        if response.close_delimited:
            response.keep_alive = False
        if response.head:
            # No body follows a HEAD answer, whatever Content-Length says; llhttp cannot be
            # told, so this parser is replaced before the next response.
            self.parser = httptools.HttpResponseParser(self)
            response._finish()
            return
        response._wake()

    def on_body(self, body: bytes) -> None:
        assert self.response is not None
        self.response._feed(body)

    def on_message_complete(self) -> None:
        response = self.response
        if response is not None and response.status and not response.head:
            response._finish()

    # flow control and life cycle

    def pause(self) -> None:
        if not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()

    def send(self, data: bytes, response: Response) -> None:
        assert self.transport is not None
        self.response = response
        self.used += 1
        self.transport.write(data)

    def done(self, reusable: bool) -> None:
        self.response = None
        self.resume()
        if reusable and not self.closed:
            self.pool.give_back(self)
        else:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
            self.pool.lost(self)


# Told when a server ends a kept-alive connection it was not answering on (host, port).
PeerClosed = Callable[[str, int], None]


class HostPool:
    """The connections to one host:port: idle ones reused newest first, at most `limit` open."""

    def __init__(
        self,
        host: str,
        port: int,
        limit: int,
        keepalive: float,
        connect_timeout: float,
        on_peer_closed: PeerClosed | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.limit = limit
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.on_peer_closed = on_peer_closed
        self.idle: list[Connection] = []
        self.open: set[Connection] = set()
        self.waiters: collections.deque[asyncio.Future[Connection | None]] = collections.deque()

    async def acquire(self, loop: asyncio.AbstractEventLoop, deadline: float) -> Connection:
        now = loop.time()
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed and now - connection.idle_since < self.keepalive:
                return connection
            connection.close()  # idle too long: the server may be closing it right now
        while len(self.open) >= self.limit:
            waiter: asyncio.Future[Connection | None] = loop.create_future()
            self.waiters.append(waiter)
            timer = loop.call_at(deadline, expire, waiter)
            try:
                handed = await waiter
            finally:
                timer.cancel()
                if waiter in self.waiters:
                    self.waiters.remove(waiter)
            if handed is not None and not handed.closed:
                return handed
        return await self._connect(loop, deadline)

    async def _connect(self, loop: asyncio.AbstractEventLoop, deadline: float) -> Connection:
        connection = Connection(self, loop)
        self.open.add(connection)
        timeout = min(self.connect_timeout, max(deadline - loop.time(), 0))
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(lambda: connection, self.host, self.port)
        except (OSError, TimeoutError) as exc:
            self.open.discard(connection)
            self._wake_one()
            raise ConnectFailed(f"{self.host}:{self.port}: {exc!r}") from exc
        except BaseException:
            self.open.discard(connection)
            connection.close()
            raise
        return connection

    def give_back(self, connection: Connection) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        connection.idle_since = connection.loop.time()
        self.idle.append(connection)

    def idle_ended(self, connection: Connection) -> None:
        """The server ended an idle connection. Before our own keep-alive runs out, a server
        whose keep-alive is longer (ours are) does that only when it goes away: a graceful
        stop, or a process that died and whose sockets the kernel closed. That is told at
        once, before any request connects to an address that may no longer answer at all."""
        if self.on_peer_closed is None or connection not in self.idle:
            return
        if connection.loop.time() - connection.idle_since < self.keepalive:
            self.on_peer_closed(self.host, self.port)

    def lost(self, connection: Connection) -> None:
        if connection in self.open:
            self.open.discard(connection)
            self._wake_one()

    def _wake_one(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # room for a new connection
                return

    def close(self) -> None:
        for connection in list(self.open):
            connection.close()
        self.idle.clear()
