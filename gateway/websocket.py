"""The websocket proxy: frames both ways, close codes kept, never retried once upgraded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import WSMsgType, web

from shared.errors import BadGateway, ServiceUnavailable
from shared.web import REQUEST_ID

if TYPE_CHECKING:
    from gateway.proxy import Context, Proxy

log = logging.getLogger(__name__)

# Codes a peer may never send in a close frame (RFC 6455 7.4.1): they only describe what
# happened locally, so the other leg is told 1011 (internal error) instead.
UNSENDABLE = frozenset({1005, 1006, 1015})


def sendable(code: int | None) -> int:
    if code is None or code in UNSENDABLE:
        return 1011
    return code


async def _pump(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    target: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    async for message in source:
        if message.type is WSMsgType.TEXT:
            await target.send_str(message.data)
        elif message.type is WSMsgType.BINARY:
            await target.send_bytes(message.data)
        elif message.type is WSMsgType.ERROR:
            break
    # `source` closed: tell the other leg with the same code (or 1011 for local-only codes).
    if not target.closed:
        await target.close(code=sendable(source.close_code), message=b"")


async def proxy_websocket(
    request: web.Request, proxy: Proxy, context: Context
) -> web.StreamResponse:
    """Opens the upstream leg first, so that a refusal is still an HTTP error, then upgrades."""
    assert proxy.session is not None
    upstream = proxy.upstreams[context.route.service]
    replica = upstream.pick()
    if replica is None:
        raise ServiceUnavailable(f"{upstream.name} is unavailable")
    query = {k: v for k, v in request.query.items() if k != "token"}
    # aiohttp's client makes its own handshake.
    handshake = {"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"}
    headers = [
        (name, value)
        for name, value in proxy.upstream_headers(request, context)
        if name.lower() not in handshake
    ]
    limit = proxy.settings.ws_max_message
    heartbeat = proxy.settings.ws_heartbeat
    try:
        upstream_ws = await proxy.session.ws_connect(
            replica.base_url + request.path,
            params=query,
            headers=headers,
            heartbeat=heartbeat,
            max_msg_size=limit,
            timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
        )
    except aiohttp.WSServerHandshakeError as exc:
        raise BadGateway(f"{upstream.name} refused the websocket ({exc.status})") from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        upstream.eject(replica)
        raise BadGateway(f"{upstream.name} is unreachable") from exc
    # From here on the connection is upgraded: a failure closes it, nothing is retried.
    client_ws = web.WebSocketResponse(heartbeat=heartbeat, max_msg_size=limit)
    proxy.headers.apply(request, client_ws, request[REQUEST_ID])
    await client_ws.prepare(request)
    replica.outstanding += 1
    bridge = asyncio.create_task(_bridge(client_ws, upstream_ws))
    try:
        # aiohttp cancels the handler once the client's socket closes; the bridge is shielded
        # so that it still passes the client's close code on to the service.
        await asyncio.shield(bridge)
    except asyncio.CancelledError:
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(bridge, timeout=5.0)
        raise
    finally:
        replica.outstanding -= 1
    return client_ws


async def _bridge(
    client_ws: web.WebSocketResponse, upstream_ws: aiohttp.ClientWebSocketResponse
) -> None:
    to_upstream = asyncio.create_task(_pump(client_ws, upstream_ws))
    to_client = asyncio.create_task(_pump(upstream_ws, client_ws))
    try:
        await asyncio.wait({to_upstream, to_client}, return_when=asyncio.FIRST_COMPLETED)
        # One leg closed and told the other; give the other a moment to finish its own close.
        await asyncio.wait({to_upstream, to_client}, timeout=5.0)
        for task in (to_upstream, to_client):
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.warning("websocket leg failed", extra={"error": repr(task.exception())})
    finally:
        for task in (to_upstream, to_client):
            task.cancel()
        if not upstream_ws.closed:
            await upstream_ws.close(code=1011)
        if not client_ws.closed:
            await client_ws.close(code=1011)
