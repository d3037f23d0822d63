"""Redis commands of the hot paths over one pipelined connection, parsed by hiredis.

Reading a cached page and its counters takes two Redis round trips per request, and
redis-py's asyncio client spends about 90 microseconds of CPU on each (connection pool,
health checks, retry wrappers), more than the rest of serving the page. The hot paths send
their commands here instead: the cache's reads and writes, the social facts' script
(EVALSHA) that every like and follow runs, and the outbox relay's XADD batches. Every
command of the process goes down one connection, those queued in one turn of the event loop
(by one request or by many) in one write, and the replies come back in order (Redis answers
a connection's commands first come, first served), so a command costs a share of a write
and a parse. Blocking reads, transactions and pub/sub stay on redis-py: a blocked command
would hold up every command behind it on the shared connection.

Failures raise OSError (ConnectionError or TimeoutError), or redis-py's ResponseError for an
error reply. A failure (a refused connection, or a server that stalls and lets a command time
out) opens a `CircuitBreaker`, shared with the service's redis-py client: calls then fail at
once for a moment, so that an outage costs requests nothing while it lasts. A write that
timed out may or may not have been applied, as with any client, and is never sent again from
here: the facts' script ignores a version it has already seen, and a batch of events the
relay sends again is taken once by consumers (`processed_events`).
"""

from __future__ import annotations

import asyncio
import collections
import socket
import time
from typing import Any, cast

import hiredis
from redis.asyncio.connection import parse_url
from redis.exceptions import ResponseError

Reply = Any


def encode_command(*parts: str) -> bytes:
    chunks = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode()
        chunks.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(chunks)


class CircuitBreaker:
    """Open for `open_for` seconds after a failure; then one call probes the server."""

    def __init__(self, open_for: float = 2.0) -> None:
        self.open_for = open_for
        self._open_until = 0.0
        self._tripped = False
        self._probing = False

    def is_open(self) -> bool:
        return self._tripped and (self._probing or time.monotonic() < self._open_until)

    def allow(self) -> bool:
        if not self._tripped:
            return True
        if self._probing or time.monotonic() < self._open_until:
            return False
        self._probing = True  # this call finds out; the others keep skipping meanwhile
        return True

    def failed(self) -> None:
        self._tripped = True
        self._probing = False
        self._open_until = time.monotonic() + self.open_for

    def succeeded(self) -> None:
        self._tripped = False
        self._probing = False

    def abandoned(self) -> None:
        """A call let through ended without a verdict (cancelled): if it was the probe, the
        next call probes instead; otherwise every call would be skipped from now on."""
        self._probing = False


class _Protocol(asyncio.Protocol):
    def __init__(self, on_lost: collections.abc.Callable[[_Protocol], None]) -> None:
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader(encoding="utf-8", errors="surrogateescape")
        self.waiting: collections.deque[asyncio.Future[Reply]] = collections.deque()
        self.on_lost = on_lost
        self._unsent: list[bytes] = []

    def send(self, command: bytes) -> None:
        """Queues a command; what every task queued in this turn of the event loop goes out
        in one write at its end (a system call saved per command under load)."""
        if not self._unsent:
            asyncio.get_running_loop().call_soon(self._flush)
        self._unsent.append(command)

    def _flush(self) -> None:
        data = b"".join(self._unsent)
        self._unsent.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectionError("the Redis connection closed"))
        self.on_lost(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _expire(waiter: asyncio.Future[Reply]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("Redis did not answer in time"))


class PipelinedRedis:
    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 1.0,
        timeout: float = 1.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        options = parse_url(url)
        self._path = options.get("path")
        self._host = options.get("host", "127.0.0.1")
        self._port = int(options.get("port", 6379))
        self._setup = []
        if options.get("password"):
            username = options.get("username")
            credentials = [username] if username else []
            self._setup.append(encode_command("AUTH", *credentials, options["password"]))
        if int(options.get("db", 0)):
            self._setup.append(encode_command("SELECT", str(options["db"])))
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self.breaker = breaker or CircuitBreaker()
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    async def get(self, key: str) -> str | None:
        reply: str | None = await self._call(encode_command("GET", key))
        return reply

    async def mget(self, keys: list[str]) -> list[str | None]:
        replies: list[str | None] = await self._call(encode_command("MGET", *keys))
        return replies

    async def evalsha(self, sha: str, script: str, keys: list[str], args: list[str]) -> Reply:
        """Runs a Lua script by its SHA1, sending its text once when Redis does not know it
        (after a restart or SCRIPT FLUSH)."""
        tail = [str(len(keys)), *keys, *args]
        try:
            return await self._call(encode_command("EVALSHA", sha, *tail))
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self._call(encode_command("EVAL", script, *tail))

    async def execute_many(self, commands: list[bytes]) -> list[Reply]:
        """Sends the commands (from `encode_command`) in one write and returns their replies
        in order; raises ResponseError when any of them failed, once all have answered."""
        replies = await self._call(b"".join(commands), len(commands))
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                raise ResponseError(str(reply))
        return cast(list[Reply], replies)

    async def _call(self, command: bytes, count: int = 0) -> Reply:
        """One command's reply, or with `count`, the list of replies of that many commands
        sent together."""
        if not self.breaker.allow():
            raise ConnectionError("Redis is skipped for a moment: it failed just now")
        try:
            reply = await self._send(command, count)
        except OSError:
            self.breaker.failed()
            raise
        except BaseException:
            self.breaker.abandoned()
            raise
        self.breaker.succeeded()
        if isinstance(reply, hiredis.ReplyError):
            raise ResponseError(str(reply))
        return reply

    async def _send(self, command: bytes, count: int) -> Reply:
        protocol = self._protocol or await self._connect()
        loop = asyncio.get_running_loop()
        waiters: list[asyncio.Future[Reply]] = [loop.create_future() for _ in range(count or 1)]
        protocol.waiting.extend(waiters)
        protocol.send(command)
        last = waiters[-1]  # replies come in order: when the last is in, all are
        timer = loop.call_later(self._timeout, _expire, last)
        try:
            await last
        except BaseException as exc:
            if isinstance(exc, TimeoutError):
                # A late reply would be matched with the next command: start over.
                protocol.close()
            for waiter in waiters:  # the batch shares the outcome of its last reply
                if not waiter.cancel() and not waiter.cancelled():
                    waiter.exception()  # retrieved: nobody else awaits it
            raise
        finally:
            timer.cancel()
        if not count:
            return last.result()
        return [waiter.result() for waiter in waiters]

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        if self._connecting is not None:
            return await asyncio.shield(self._connecting)
        self._connecting = loop.create_future()
        try:
            protocol = await self._open(loop)
        except (OSError, ResponseError) as exc:
            self._connecting.set_exception(ConnectionError(f"Redis is unreachable: {exc!r}"))
            self._connecting.exception()  # retrieved: concurrent callers re-raise it
            raise ConnectionError(f"Redis is unreachable: {exc!r}") from exc
        finally:
            connecting, self._connecting = self._connecting, None
        self._protocol = protocol
        connecting.set_result(protocol)
        return protocol

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Protocol:
        protocol = _Protocol(self._lost)
        async with asyncio.timeout(self._connect_timeout):
            if self._path:
                await loop.create_unix_connection(lambda: protocol, self._path)
            else:
                await loop.create_connection(lambda: protocol, self._host, self._port)
            for command in self._setup:
                waiter: asyncio.Future[Reply] = loop.create_future()
                protocol.waiting.append(waiter)
                assert protocol.transport is not None
                protocol.transport.write(command)
                reply = await waiter
                if isinstance(reply, hiredis.ReplyError):
                    protocol.close()
                    raise ResponseError(str(reply))
        return protocol

    def _lost(self, protocol: _Protocol) -> None:
        if self._protocol is protocol:
            self._protocol = None

    async def close(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None
