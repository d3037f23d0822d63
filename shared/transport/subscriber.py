"""A Redis pub/sub subscriber that heals itself: one connection, pings, resubscribes.

redis-py's asyncio pub/sub does not recover after a Redis restart: its reader waits on a
dead socket. This subscriber owns its connection (hiredis parses the replies), pings it
every `ping_interval` seconds and treats a connection that has said nothing for
`ping_interval + timeout` seconds as dead, reconnects with back-off, subscribes again to every
channel it was asked for, and then calls `on_reconnect`, so that its user can fetch from the
database what was published while the connection was down (pub/sub keeps nothing).

Messages are handed to `on_message(channel, data)` synchronously, in the order Redis sent
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

import hiredis
from redis.asyncio.connection import parse_url

from shared.tasks import reraise_cancellation
from shared.transport.redis_pipeline import encode_command

log = logging.getLogger(__name__)

OnMessage = Callable[[str, str], None]
OnReconnect = Callable[[], Awaitable[None]]


class SubscriberDown(ConnectionError):
    """The subscription connection is down; the channel is subscribed once it is back."""


class Subscriber:
    def __init__(
        self,
        url: str,
        on_message: OnMessage,
        on_reconnect: OnReconnect | None = None,
        *,
        connect_timeout: float = 1.0,
        timeout: float = 2.0,
        ping_interval: float = 5.0,
        max_backoff: float = 5.0,
    ) -> None:
        options = parse_url(url)
        self._path = options.get("path")
        self._host = options.get("host", "127.0.0.1")
        self._port = int(options.get("port", 6379))
        self._auth: list[str] = []
        if options.get("password"):
            username = options.get("username")
            self._auth = [*([username] if username else []), options["password"]]
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._ping_interval = ping_interval
        self._max_backoff = max_backoff
        # What the user asked for, whatever the state of the connection.
        self.channels: set[str] = set()
        self._writer: asyncio.StreamWriter | None = None
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}
        self._connected = asyncio.Event()
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._connected.wait()
        return self.connected

    async def subscribe(self, channels: Iterable[str]) -> None:
        """Subscribes and waits for Redis to confirm; raises SubscriberDown while disconnected
        (the channels are still recorded and subscribed on reconnection)."""
        wanted = [c for c in channels if c not in self.channels]
        if not wanted:
            return
        self.channels.update(wanted)
        writer = self._writer
        if writer is None:
            raise SubscriberDown("the subscription connection is down")
        loop = asyncio.get_running_loop()
        waiters = []
        for channel in wanted:
            waiter: asyncio.Future[None] = loop.create_future()
            self._confirmations.setdefault(channel, []).append(waiter)
            waiters.append(waiter)
        writer.write(encode_command("SUBSCRIBE", *wanted))
        try:
            async with asyncio.timeout(self._timeout):
                await asyncio.gather(*waiters)
        except TimeoutError:
            self._drop(writer)
            raise SubscriberDown("Redis did not confirm the subscription in time") from None

    def unsubscribe(self, channels: Iterable[str]) -> None:
        gone = [c for c in channels if c in self.channels]
        if not gone:
            return
        self.channels.difference_update(gone)
        if self._writer is not None:
            self._writer.write(encode_command("UNSUBSCRIBE", *gone))

    def _drop(self, writer: asyncio.StreamWriter) -> None:
        """Closes a connection judged dead; `run` notices and reconnects."""
        writer.close()

    async def run(self) -> None:
        """Keeps the subscription alive until cancelled."""
        backoff = 0.1
        first = True
        while True:
            try:
                reader, writer = await self._open()
            except (OSError, ConnectionError, TimeoutError) as exc:
                reraise_cancellation()
                log.warning("pub/sub waits for Redis", extra={"error": repr(exc)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.1
            self._writer = writer
            self._connected.set()
            resubscribed = asyncio.create_task(self._resubscribe(reconnected=not first))
            first = False
            try:
                await self._read(reader, writer)
            except (OSError, ConnectionError, TimeoutError) as exc:
                reraise_cancellation()
                log.warning("pub/sub connection lost", extra={"error": repr(exc)})
            finally:
                self._connected.clear()
                self._writer = None
                writer.close()
                for waiters in self._confirmations.values():
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(SubscriberDown("connection lost"))
                            waiter.exception()
                self._confirmations.clear()
                resubscribed.cancel()

    async def _resubscribe(self, *, reconnected: bool) -> None:
        """Subscribes a new connection to every channel; once Redis confirms, nothing more
        is missed, and `on_reconnect` may read what was published while it was down."""
        channels, self.channels = set(self.channels), set()
        try:
            await self.subscribe(channels)
        except SubscriberDown:
            return  # the connection failed again; the next one starts over
        if reconnected:
            self.reconnects += 1
            log.info("pub/sub reconnected", extra={"channels": len(channels)})
            if self._on_reconnect is not None:
                try:
                    await self._on_reconnect()
                except Exception:
                    log.exception("pub/sub gap recovery failed")

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with asyncio.timeout(self._connect_timeout):
            if self._path:
                reader, writer = await asyncio.open_unix_connection(self._path)
            else:
                reader, writer = await asyncio.open_connection(self._host, self._port)
            try:
                if self._auth:
                    writer.write(encode_command("AUTH", *self._auth))
                    parser = hiredis.Reader(encoding="utf-8", errors="surrogateescape")
                    while (reply := parser.gets()) is False:
                        data = await reader.read(4096)
                        if not data:
                            raise ConnectionError("Redis closed the connection during AUTH")
                        parser.feed(data)
                    if isinstance(reply, hiredis.ReplyError):
                        raise ConnectionError(f"Redis refused AUTH: {reply}")
            except BaseException:
                writer.close()
                raise
        return reader, writer

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = hiredis.Reader(encoding="utf-8", errors="surrogateescape")
        loop = asyncio.get_running_loop()
        last_heard = loop.time()
        last_ping = loop.time()
        while True:
            now = loop.time()
            if now - last_ping >= self._ping_interval:
                writer.write(encode_command("PING"))
                last_ping = now
            wait = max(0.05, last_ping + self._ping_interval - now)
            try:
                async with asyncio.timeout(wait):
                    data = await reader.read(65536)
            except TimeoutError:
                if loop.time() - last_heard > self._ping_interval + self._timeout:
                    raise TimeoutError("Redis stopped answering pings") from None
                continue
            if not data:
                raise ConnectionError("Redis closed the connection")
            last_heard = loop.time()
            parser.feed(data)
            while (reply := parser.gets()) is not False:
                self._dispatch(reply)

    def _dispatch(self, reply: object) -> None:
        if isinstance(reply, hiredis.ReplyError):
            log.error("pub/sub error reply", extra={"error": str(reply)})
            return
        if not isinstance(reply, list) or not reply:
            return
        kind = reply[0]
        if kind == "message":
            try:
                self._on_message(reply[1], reply[2])
            except Exception:
                log.exception("pub/sub message handler failed", extra={"channel": reply[1]})
        elif kind == "subscribe":
            for waiter in self._confirmations.pop(reply[1], []):
                if not waiter.done():
                    waiter.set_result(None)
