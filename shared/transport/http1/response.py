"""A response as it arrives, and the errors a call can end with."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import Any, Protocol


class Connection(Protocol):
    """What a response needs of the connection it arrives on (connection.Connection): a
    protocol here, so that the two modules do not import each other."""

    loop: asyncio.AbstractEventLoop

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def done(self, reusable: bool) -> None: ...


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


def header_text(value: bytes) -> str:
    # Header bytes round-trip unchanged, as aiohttp's own server and client treat them.
    return value.decode("utf-8", "surrogateescape")


def expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class Response:
    """A response whose status and headers have arrived; the body follows."""

    def __init__(self, connection: Connection, deadline: float, head: bool) -> None:
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
        return [(header_text(name), header_text(value)) for name, value in self.raw_headers]

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in self.raw_headers:
            if key.lower() == wanted:
                return header_text(value)
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
        timer = self._loop.call_at(self._deadline, expire, waiter)
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
