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
import contextlib
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

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
CHUNK = 256 * 1024
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

    def __init__(self, upstream: asyncio.StreamWriter, client: asyncio.Transport) -> None:
        self.upstream = upstream
        self.client = client
        self.ended = asyncio.Event()
        self._draining: asyncio.Task[None] | None = None

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self.upstream.is_closing():
            return True, b""
        self.upstream.write(data)
        transport = self.upstream.transport
        if transport.get_write_buffer_size() > HIGH_WATER and self._draining is None:
            self.client.pause_reading()
            self._draining = asyncio.get_running_loop().create_task(self._drain())
        return False, b""

    async def _drain(self) -> None:
        try:
            await self.upstream.drain()
        except ConnectionError:
            self.ended.set()
        finally:
            self._draining = None
            if not self.client.is_closing():
                self.client.resume_reading()

    def feed_eof(self) -> None:
        self.ended.set()


async def _to_client(
    upstream: asyncio.StreamReader, request: web.Request, ended: asyncio.Event
) -> None:
    """What the replica sends goes to the client, waiting while the client is behind."""
    transport = request.transport
    protocol = request.protocol
    assert transport is not None
    try:
        while data := await upstream.read(CHUNK):
            if transport.is_closing():
                break
            transport.write(data)
            if transport.get_write_buffer_size() > HIGH_WATER:
                # aiohttp's own flow control, as its websocket writer uses it.
                await protocol._drain_helper()
    except ConnectionError:
        pass
    finally:
        ended.set()


async def _open(
    host: str, port: int, head: bytes, connect_seconds: float, answer_seconds: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int, list[tuple[str, str]]]:
    """Connects, sends the handshake, and reads the replica's answer to it."""
    try:
        async with asyncio.timeout(connect_seconds):
            reader, writer = await asyncio.open_connection(host, port, limit=HEAD_LIMIT * 2)
    except (OSError, TimeoutError) as exc:
        raise http1.ConnectFailed(f"no connection to {host}:{port}") from exc
    try:
        async with asyncio.timeout(answer_seconds):
            writer.write(head)
            raw = await reader.readuntil(b"\r\n\r\n")
    except BaseException:
        writer.close()
        raise
    lines = raw.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        writer.close()
        raise ConnectionError("the replica answered something that is not HTTP") from None
    fields = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields.append((name.strip(), value.strip()))
    return reader, writer, status, fields


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
            reader, writer, status, fields = await _open(
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
        writer.close()
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
    to_upstream = _ToUpstream(writer, transport)
    # Typed for its websocket reader, it takes any object with feed_data and feed_eof.
    request.protocol.set_parser(to_upstream)  # type: ignore[arg-type]
    request.protocol.keep_alive(False)
    replica.outstanding += 1
    session = context.identity.session_id if context.identity is not None else None
    if session is not None:
        sockets.add(session, to_upstream)
    to_client = asyncio.create_task(_to_client(reader, request, to_upstream.ended))
    try:
        await to_upstream.ended.wait()
    finally:
        if session is not None:
            sockets.discard(session, to_upstream)
        replica.outstanding -= 1
        to_client.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await to_client
        writer.close()
        if not transport.is_closing():
            transport.close()
    return response
