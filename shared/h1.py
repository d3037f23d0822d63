"""A lean HTTP/1.1 client for calls between our own processes: pooled keep-alive sockets,
responses parsed by llhttp (httptools), bodies buffered or streamed with back-pressure.

aiohttp's ClientSession spends about as much CPU on one small request as the whole rest of a
proxied request (cookies, tracing, redirects, URL objects, decompression, many layers), so
the gateway's forwarding and the services' internal calls go through this instead. It speaks
only what our services need: plain http, requests with a bytes body or none, any response
framing (Content-Length, chunked, close-delimited). A request is never sent twice here; the
caller decides on retries from the error it gets:

- `ConnectFailed`: no connection could be opened, nothing was sent;
- `Disconnected`: the connection closed before a complete response (the request may have
  been processed; `reused` says whether it rode on a kept-alive socket, the classic race
  with a server closing an idle connection);
- `TimeoutError`: no complete answer before the deadline;
- `ProtocolError`: the peer answered something that is not HTTP.
"""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast

import httptools

HIGH_WATER = 256 * 1024  # buffered response bytes at which reading the socket pauses
LOW_WATER = 64 * 1024


class ConnectFailed(Exception):
    """No connection: the request was not sent."""


class Disconnected(Exception):
    """The connection closed before the response was complete."""

    def __init__(self, message: str, *, reused: bool) -> None:
        super().__init__(message)
        self.reused = reused


class ProtocolError(Exception):
    """The peer's answer is not valid HTTP/1.1."""


def _text(value: bytes) -> str:
    # Header bytes round-trip unchanged, as aiohttp's own server and client treat them.
    return value.decode("utf-8", "surrogateescape")


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class Response:
    """A response whose status and headers have arrived; the body follows."""

    def __init__(self, connection: _Connection, deadline: float, head: bool) -> None:
        self._connection = connection
        self._deadline = deadline
        self._loop = connection.loop
        self.head = head
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.content_length: int | None = None
        self.close_delimited = False
        self.keep_alive = False
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._complete = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._released = False

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [(_text(name), _text(value)) for name, value in self.raw_headers]

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in self.raw_headers:
            if key.lower() == wanted:
                return _text(value)
        return None

    # Fed by the connection.

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        if self._buffered > HIGH_WATER:
            self._connection.pause()
        self._wake()

    def _finish(self) -> None:
        self._complete = True
        self._wake()

    def _fail(self, error: BaseException) -> None:
        if not self._complete:
            self._error = error
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)

    # Read by the caller.

    async def _wait(self) -> None:
        waiter = self._waiter = self._loop.create_future()
        timer = self._loop.call_at(self._deadline, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    async def read(self) -> bytes:
        """The whole body."""
        while not self._complete:
            if self._error is not None:
                raise self._error
            await self._wait()
        body = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        self.release()
        return body

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body piece by piece, as it arrives; reading resumes as the caller catches up."""
        try:
            while True:
                while self._chunks:
                    chunk = self._chunks.popleft()
                    self._buffered -= len(chunk)
                    if self._buffered < LOW_WATER:
                        self._connection.resume()
                    yield chunk
                if self._complete:
                    return
                if self._error is not None:
                    raise self._error
                await self._wait()
        finally:
            self.release()

    def release(self) -> None:
        """Gives the connection back (or closes it when the body was not read to its end)."""
        if self._released:
            return
        self._released = True
        self._connection.done(self._complete and self.keep_alive and self._error is None)


class _Connection(asyncio.Protocol):
    def __init__(self, pool: _HostPool, loop: asyncio.AbstractEventLoop) -> None:
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
        self.closed = True
        response = self.response
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


class _HostPool:
    """The connections to one host:port: idle ones reused newest first, at most `limit` open."""

    def __init__(
        self, host: str, port: int, limit: int, keepalive: float, connect_timeout: float
    ) -> None:
        self.host = host
        self.port = port
        self.authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.limit = limit
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.idle: list[_Connection] = []
        self.open: set[_Connection] = set()
        self.waiters: collections.deque[asyncio.Future[_Connection | None]] = collections.deque()

    async def acquire(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        now = loop.time()
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed and now - connection.idle_since < self.keepalive:
                return connection
            connection.close()  # idle too long: the server may be closing it right now
        while len(self.open) >= self.limit:
            waiter: asyncio.Future[_Connection | None] = loop.create_future()
            self.waiters.append(waiter)
            timer = loop.call_at(deadline, _expire, waiter)
            try:
                handed = await waiter
            finally:
                timer.cancel()
                if waiter in self.waiters:
                    self.waiters.remove(waiter)
            if handed is not None and not handed.closed:
                return handed
        return await self._connect(loop, deadline)

    async def _connect(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        connection = _Connection(self, loop)
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

    def give_back(self, connection: _Connection) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        connection.idle_since = connection.loop.time()
        self.idle.append(connection)

    def lost(self, connection: _Connection) -> None:
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


class Client:
    def __init__(
        self, *, limit_per_host: int = 100, keepalive: float = 15.0, connect_timeout: float = 1.0
    ) -> None:
        self._limit = limit_per_host
        self._keepalive = keepalive
        self._connect_timeout = connect_timeout
        self._pools: dict[tuple[str, int], _HostPool] = {}

    async def request(
        self,
        host: str,
        port: int,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None = None,
        *,
        time_limit: float,
    ) -> Response:
        """Sends one request and returns once its status and headers have arrived.

        `target` is the path and query, already encoded; `headers` must not carry Host,
        Content-Length or Transfer-Encoding, which are set here. `time_limit` (seconds)
        bounds everything: waiting for a connection, the headers and reading the body.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + time_limit
        pool = self._pools.get((host, port))
        if pool is None:
            pool = self._pools[(host, port)] = _HostPool(
                host, port, self._limit, self._keepalive, self._connect_timeout
            )
        connection = await pool.acquire(loop, deadline)
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {pool.authority}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in headers)
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body) if body else 0}\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode("utf-8", "surrogateescape")
        if body:
            data += body
        response = Response(connection, deadline, method == "HEAD")
        connection.send(data, response)
        try:
            while not response.status:
                if response._error is not None:
                    raise response._error
                await response._wait()
        except BaseException:
            connection.close()
            raise
        return response

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
