"""The websocket proxy: the upgrade is checked here and then the connection is a byte tunnel.

After the token is verified, the client's handshake goes to a replica as it came (its key,
version, extensions, protocols, and our identity headers in place of any the client sent);
the replica's 101 goes back to the client, and from then on bytes pass both ways unread, as
nginx and Envoy proxy websockets. Frames are never parsed, masked or copied one by one:
a delivery to a thousand sockets costs the gateway a read and a write per socket and batch
of frames, not a frame decode and encode each. Close codes, pings and frame limits are the
two ends' business (the chat service enforces its own). A refused handshake is still an HTTP
error; a handshake that could not connect goes to another replica, an upgraded connection
is never retried.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.base_protocol import BaseProtocol

from shared.transport import http1
from shared.transport.failover import Failover, failure_of
from shared.web.errors import ApiError, BadGateway, ServiceUnavailable
from shared.web.middleware import REQUEST_ID

if TYPE_CHECKING:
    from gateway.admission import Context
    from gateway.headers import ResponseHeaders
    from gateway.settings import GatewaySettings
    from gateway.upstreams import Upstream

log = logging.getLogger(__name__)

HEAD_LIMIT = 16 * 1024  # the replica's answer to the handshake
# A side whose peer does not keep up stops being read once this much waits to be written.
HIGH_WATER = 1024 * 1024
# Handshake fields the replica answers with, passed back to the client as they are.
_RETURNED = frozenset(
    {"sec-websocket-accept", "sec-websocket-extensions", "sec-websocket-protocol"}
)


class SessionSockets:
    """The open tunnels of each session, so that ending a session (sign-out, a password
    change, a deleted account) closes its websockets at once, as it refuses its requests.

    The tunnel is closed, not sent a close frame: its bytes pass unread, so the gateway cannot
    tell where a frame of the replica's ends. The client sees the connection drop, and its
    reconnection is refused with 401.
    """

    def __init__(self) -> None:
        self._open: dict[str, set[_ToUpstream]] = {}

    def add(self, session_id: str, tunnel: _ToUpstream) -> None:
        self._open.setdefault(session_id, set()).add(tunnel)

    def discard(self, session_id: str, tunnel: _ToUpstream) -> None:
        tunnels = self._open.get(session_id)
        if tunnels is not None:
            tunnels.discard(tunnel)
            if not tunnels:
                del self._open[session_id]

    def end(self, session_id: str) -> None:
        for tunnel in self._open.pop(session_id, ()):
            tunnel.ended.set()

    def __len__(self) -> int:
        return sum(len(tunnels) for tunnels in self._open.values())


class _ToUpstream:
    """Takes the place of aiohttp's websocket reader on the client's connection: what the
    client sends goes on to the replica unread."""

    def __init__(self, upstream: _FromUpstream) -> None:
        self.upstream = upstream
        self.ended = upstream.ended

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.upstream.send(data)
        return False, b""

    def feed_eof(self) -> None:
        self.ended.set()


class _FromUpstream(asyncio.Protocol):
    """The replica's end of a tunnel, as a protocol rather than a stream and a copying task:
    the replica's answer to the handshake is read into `head`, and from `attach` on what it
    sends is written to the client's transport in the callback that receives it (bytes from
    many sockets' deliveries cost a write each, no task switch, no buffer of our own).
    Each side stops being read while the other holds more than HIGH_WATER unsent."""

    def __init__(self) -> None:
        self.head: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.ended = asyncio.Event()
        self.transport: asyncio.Transport | None = None
        self._early = bytearray()  # the head, then what came with it before `attach`
        self._client: asyncio.Transport | None = None
        self._client_protocol: BaseProtocol | None = None
        self._client_paused = False
        self._draining: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.transport.set_write_buffer_limits(high=HIGH_WATER)

    def data_received(self, data: bytes) -> None:
        if self._client is not None:
            self._forward(data)
            return
        self._early += data
        if self.head.done():
            return
        end = self._early.find(b"\r\n\r\n")
        if end >= 0:
            self.head.set_result(bytes(self._early[: end + 4]))
            del self._early[: end + 4]
        elif len(self._early) > HEAD_LIMIT:
            self.head.set_exception(
                asyncio.LimitOverrunError("the replica's handshake answer is too long", 0)
            )

    def eof_received(self) -> bool:
        self.ended.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.head.done():
            self.head.set_exception(asyncio.IncompleteReadError(bytes(self._early), None))
        self.ended.set()

    def attach(self, client: asyncio.Transport, client_protocol: BaseProtocol) -> None:
        """The client's connection is upgraded: what came after the head goes to it first."""
        self._client, self._client_protocol = client, client_protocol
        early, self._early = bytes(self._early), bytearray()
        if early:
            self._forward(early)

    def send(self, data: bytes) -> None:
        """Bytes from the client."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    # The replica's leg holds more than HIGH_WATER: stop reading the client until it drains.
    def pause_writing(self) -> None:
        if self._client is not None and not self._client.is_closing():
            self._client.pause_reading()
            self._client_paused = True

    def resume_writing(self) -> None:
        if self._client_paused and self._client is not None and not self._client.is_closing():
            self._client.resume_reading()
        self._client_paused = False

    def close(self) -> None:
        if self._draining is not None:
            self._draining.cancel()
        if self.transport is not None:
            self.transport.close()

    def _forward(self, data: bytes) -> None:
        client = self._client
        assert client is not None and self.transport is not None
        if client.is_closing():
            self.ended.set()
            return
        client.write(data)
        if client.get_write_buffer_size() > HIGH_WATER and self._draining is None:
            self.transport.pause_reading()
            self._draining = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        assert self._client_protocol is not None and self.transport is not None
        try:
            await self._client_protocol._drain_helper()  # aiohttp's flow control
        except ConnectionError:
            self.ended.set()
        finally:
            self._draining = None
            if not self.transport.is_closing():
                self.transport.resume_reading()


async def _open(
    host: str, port: int, head: bytes, connect_seconds: float, answer_seconds: float
) -> tuple[_FromUpstream, int, list[tuple[str, str]]]:
    """Connects, sends the handshake, and reads the replica's answer to it."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(connect_seconds):
            _, upstream = await loop.create_connection(_FromUpstream, host, port)
    except (OSError, TimeoutError) as exc:
        raise http1.ConnectFailed(f"no connection to {host}:{port}") from exc
    try:
        async with asyncio.timeout(answer_seconds):
            upstream.send(head)
            raw = await upstream.head
    except BaseException:
        upstream.close()
        raise
    lines = raw.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        upstream.close()
        raise ConnectionError("the replica answered something that is not HTTP") from None
    fields = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields.append((name.strip(), value.strip()))
    return upstream, status, fields


async def proxy_websocket(
    request: web.Request,
    context: Context,
    upstream: Upstream,
    upstream_headers: list[tuple[str, str]],
    settings: GatewaySettings,
    headers: ResponseHeaders,
    sockets: SessionSockets,
) -> web.StreamResponse:
    """Tunnels the request to a replica of `upstream`; the proxy's parts are passed in
    (the proxy imports this module)."""
    query = urlencode([(k, v) for k, v in request.query.items() if k != "token"])
    target = request.raw_path.split("?", 1)[0] + (f"?{query}" if query else "")
    forwarded = [f"{name}: {value}" for name, value in upstream_headers]
    # A handshake that reached a replica is not sent again: it may have been accepted.
    failover = Failover(upstream, repeatable=False)
    while True:
        replica = failover.next()
        if replica is None:
            raise ServiceUnavailable(f"{upstream.name} is unavailable")
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {replica.host}:{replica.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            *forwarded,
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            upstream_leg, status, fields = await _open(
                replica.host, replica.port, head, settings.connect_timeout, settings.request_timeout
            )
            break
        except (
            OSError,
            TimeoutError,
            http1.ConnectFailed,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ) as exc:
            failure = failure_of(exc)
            if failure is not None and failover.failed(replica, failure):
                continue
            raise BadGateway(f"{upstream.name} is unreachable") from exc
    upstream.succeeded(replica)
    if status != 101:
        upstream_leg.close()
        if 400 <= status < 500:
            # The client's handshake or identity was refused (400, 401, 429...): theirs to
            # fix, so it keeps its status rather than passing for the gateway's fault.
            retry = [value for name, value in fields if name.lower() == "retry-after"]
            refused = ApiError(
                f"{upstream.name} refused the websocket handshake",
                headers={"Retry-After": retry[0]} if retry else None,
            )
            refused.status = status
            raise refused
        raise BadGateway(f"{upstream.name} refused the websocket ({status})")
    # From here on the connection is upgraded: a failure closes it, nothing is retried.
    response = web.StreamResponse(status=101)
    for name, value in fields:
        if name.lower() in _RETURNED:
            response.headers[name] = value
    response.headers["Upgrade"] = "websocket"
    response.headers["Connection"] = "Upgrade"
    headers.apply(request, response, request[REQUEST_ID])
    response.force_close()
    await response.prepare(request)
    transport = request.transport
    assert transport is not None
    upstream_leg.attach(transport, request.protocol)
    to_upstream = _ToUpstream(upstream_leg)
    # Typed for its websocket reader, it takes any object with feed_data and feed_eof.
    request.protocol.set_parser(to_upstream)  # type: ignore[arg-type]
    request.protocol.keep_alive(False)
    replica.outstanding += 1
    session = context.identity.session_id if context.identity is not None else None
    if session is not None:
        sockets.add(session, to_upstream)
    try:
        await to_upstream.ended.wait()
    finally:
        if session is not None:
            sockets.discard(session, to_upstream)
        replica.outstanding -= 1
        upstream_leg.close()
        if not transport.is_closing():
            transport.close()
    return response
