"""Read deadlines for every server: a request's head and its body must keep arriving.

aiohttp closes a connection that sends nothing for its keep-alive time, but one that sends
a request head a byte at a time, or declares a body it never finishes, holds its socket and
its handler for as long as it likes (slowloris). Here each connection gets one timer:

- the head of a request (from the connection's start, or from the first byte of a next
  request on a kept-alive one) must be complete within `headers` seconds, or the connection
  is closed: nothing can be answered to a request that has no head yet;
- a body must not stall for more than `body_idle` seconds while the server reads it: the
  read raises `RequestTimeout`, which the error handling answers with 408 in the API's
  format, and the connection is closed after that answer (the rest of the body never came).
  A body that is not read because the server is behind (reading paused for back-pressure)
  is not the client's fault and does not count.

The timer is re-armed only when it fires, never per packet: a body's bytes cost one clock
read each, which matters at the gateway, where every request passes through here.

The same server drains on shutdown. aiohttp stops listening, then closes every idle
keep-alive connection at once: a request that a client (the gateway) is sending on one at
that moment is lost, and only a retry can save it, which a POST without a key does not get.
Here idle connections stay open for `drain_grace` seconds instead; a request that comes on
one (or was in flight) is answered with `Connection: close`, so the client uses that socket
no more and, finding the port refused, sends the rest elsewhere. What is still idle after
the grace is closed: by then the clients have noticed the replica going away.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from shared.service.collector import CONNECTIONS
from shared.settings import Env
from shared.web.errors import RequestTimeout
from shared.web.protocol import ApiRequestHandler

log = logging.getLogger(__name__)

DRAIN_GRACE = 2.0  # seconds idle keep-alive connections stay open on shutdown
_DRAIN_POLL = 0.05


@dataclass(frozen=True)
class ReadDeadlines:
    headers: float  # seconds for a request head to arrive in full
    body_idle: float  # seconds a body may go without a byte while it is read

    @classmethod
    def from_env(cls, env: Env | None = None) -> ReadDeadlines:
        env = env or Env()
        return cls(
            headers=env.number("HEADER_READ_TIMEOUT", 10.0, minimum=0.01),
            body_idle=env.number("BODY_READ_TIMEOUT", 30.0, minimum=0.01),
        )


class DeadlineProtocol(ApiRequestHandler):
    """The connection handler of every server: the API's error format (shared/web/protocol.py)
    and the two read deadlines."""

    __slots__ = ("_body", "_body_at", "_deadlines", "_draining", "_timer")

    def __init__(self, manager: web.Server, deadlines: ReadDeadlines, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._deadlines = deadlines
        self._timer: asyncio.TimerHandle | None = None
        self._body: StreamReader | None = None  # the body on its way, if one is
        self._body_at = 0.0  # when its last bytes came
        self._draining = False

    def drain(self) -> None:
        """The server is shutting down: every answer from now on closes the connection."""
        self._draining = True

    async def finish_response(
        self, request: BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        if self._draining and not resp.prepared:
            resp.force_close()  # "Connection: close": the client must not reuse this socket
        return await super().finish_response(request, resp, start_time)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        CONNECTIONS.opened += 1
        self._arm(self._loop.time() + self._deadlines.headers, self._head_expired)

    def connection_lost(self, exc: BaseException | None) -> None:
        CONNECTIONS.closed += 1
        self._disarm()
        self._body = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._upgraded or self._payload_parser is not None:
            # A websocket (or the gateway's tunnel): its own business from here on.
            self._disarm()
            super().data_received(data)
            return
        heads = self._request_count
        super().data_received(data)
        if self._upgraded or self.transport is None:
            self._disarm()
            return
        body = self._body
        if self._request_count != heads:
            # A head is complete; the body of the last one parsed may still be coming.
            self._disarm()
            payload = self._messages[-1][1] if self._messages else None
            if payload is not None and not payload.is_eof():
                self._body = payload
                self._body_at = self._loop.time()
                self._arm(self._body_at + self._deadlines.body_idle, self._body_expired)
            else:
                self._body = None
        elif body is not None:
            if body.is_eof():
                # It ended in this packet. What follows it, if anything, is a next head,
                # timed from the next packet on (meanwhile keep-alive's idle time applies).
                self._body = None
                self._disarm()
            else:
                self._body_at = self._loop.time()
        elif self._timer is None:
            # The first bytes of a next request's head.
            self._arm(self._loop.time() + self._deadlines.headers, self._head_expired)

    def _arm(self, when: float, callback: Any) -> None:
        self._disarm()
        self._timer = self._loop.call_at(when, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_expired(self) -> None:
        self._timer = None
        if self.transport is None:
            return
        if self._request_in_progress:
            # Busy answering an earlier request: the next head's time starts after it.
            self._arm(self._loop.time() + self._deadlines.headers, self._head_expired)
            return
        log.info("request head not received in time; connection closed")
        self.force_close()

    def _body_expired(self) -> None:
        self._timer = None
        body, transport = self._body, self.transport
        if body is None or body.is_eof() or transport is None:
            return
        now = self._loop.time()
        due = self._body_at + self._deadlines.body_idle
        if now < due:
            self._arm(due, self._body_expired)
            return
        if not transport.is_reading():
            # Paused for back-pressure: the server is behind, not the client.
            self._body_at = now
            self._arm(now + self._deadlines.body_idle, self._body_expired)
            return
        self._body = None
        log.info("request body stalled; answered 408 and closed")
        if not self._request_in_progress:
            self.force_close()  # already answered: nothing is waiting for the rest
            return
        # The rest of the body will not come: no lingering to read it after the answer,
        # so the connection closes once the 408 is written.
        self._lingering_time = 0.0
        idle = self._deadlines.body_idle
        body.set_exception(RequestTimeout(f"the request body stopped arriving for {idle:g} s"))


class DeadlineServer(web.Server):
    """aiohttp's server, making connections with read deadlines, draining on shutdown."""

    def __init__(
        self,
        *args: Any,
        deadlines: ReadDeadlines,
        drain_grace: float = DRAIN_GRACE,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.deadlines = deadlines
        self.drain_grace = drain_grace
        self.draining = False

    def __call__(self) -> RequestHandler:
        protocol = DeadlineProtocol(self, self.deadlines, loop=self._loop, **self._kwargs)
        if self.draining:
            protocol.drain()  # accepted just before the socket stopped listening
        return protocol

    def pre_shutdown(self) -> None:
        # Called once the socket no longer listens; aiohttp's closes the idle connections here.
        self.draining = True
        for connection in self._connections:
            if isinstance(connection, DeadlineProtocol):
                connection.drain()

    async def shutdown(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 (aiohttp's)
        loop = asyncio.get_running_loop()
        until = loop.time() + self.drain_grace
        # Connections close themselves after their next answer; the idle rest after the grace.
        # aiohttp forgets a connection in a task's done callback: no event says "all gone".
        while self._connections and loop.time() < until:  # noqa: ASYNC110
            await asyncio.sleep(_DRAIN_POLL)
        for connection in list(self._connections):
            connection.close()
        await super().shutdown(timeout)


class DeadlineRunner(web.AppRunner):
    """An AppRunner whose server applies `deadlines` to every connection."""

    __slots__ = ("_deadlines", "_drain_grace")

    def __init__(
        self,
        app: web.Application,
        deadlines: ReadDeadlines,
        *,
        drain_grace: float = DRAIN_GRACE,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self._deadlines = deadlines
        self._drain_grace = drain_grace

    async def _make_server(self) -> web.Server:
        # aiohttp's own server (it runs the app's startup), re-made with our connections.
        server = await super()._make_server()
        return DeadlineServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            deadlines=self._deadlines,
            drain_grace=self._drain_grace,
            **server._kwargs,
        )


async def start_server(
    app: web.Application,
    host: str,
    port: int,
    deadlines: ReadDeadlines,
    *,
    shutdown_timeout: float = 10.0,
    drain_grace: float = DRAIN_GRACE,
    handle_signals: bool = False,
) -> DeadlineRunner:
    """Starts `app` listening on host:port; `await runner.cleanup()` stops it gracefully."""
    runner = DeadlineRunner(
        app,
        deadlines,
        drain_grace=drain_grace,
        handle_signals=handle_signals,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
        # aiohttp's own idle keep-alive; longer than the clients' (15 s internal, 30 s at
        # the gateway), so that they close an idle socket first.
        keepalive_timeout=75.0,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
