"""A gateway from its factory in front of real upstream servers on real sockets.

The upstreams are small aiohttp servers that answer with what they received, so a test sees
exactly which service got a request and with which headers; replica and failure tests also
start real service processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pytest_aiohttp import AiohttpClient

from auth_service.settings import AuthSettings
from auth_service.signing import KeyRing
from gateway.app import create_app
from gateway.settings import SERVICES, GatewaySettings
from shared.contracts.revocation import Ended, Page, make_cursor, page_to_json
from shared.settings import Env
from tests.infra import Infra
from tests.typing import AppClient


@dataclass
class Echo:
    """One fake replica of a service: records every request it answers."""

    name: str
    keys: KeyRing
    seen: list[dict[str, Any]] = field(default_factory=list)
    ws_close_codes: list[int | None] = field(default_factory=list)
    slow_seconds: float = 0.0
    server: TestServer | None = None
    # auth's list of ended sessions, which gateways load at start (one page, in order)
    revoked: list[Ended] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/api/.well-known/jwks.json":
            return web.json_response(self.keys.jwks())
        if request.path == "/internal/sessions/revoked":
            cursor = make_cursor(len(self.revoked), "") if self.revoked else None
            return web.json_response(page_to_json(Page(self.revoked, cursor, False)))
        if request.path == "/api/chat/ws":
            return await self.websocket(request)
        body = await request.read()
        self.seen.append(
            {
                "method": request.method,
                "path": request.path_qs,
                "raw_path": request.raw_path,
                "headers": dict(request.headers),
                "size": len(body),
            }
        )
        if request.path.endswith("/slow"):
            await asyncio.sleep(self.slow_seconds)
        if request.path.endswith("/big"):
            return web.Response(body=b"x" * 1_000_000, content_type="application/octet-stream")
        return web.json_response(
            {"service": self.name, "headers": dict(request.headers), "size": len(body)}
        )

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.seen.append(
            {"method": "WS", "path": request.path_qs, "headers": dict(request.headers), "size": 0}
        )
        # ?greet=N: N frames at once after the upgrade, as chat sends its hello unasked.
        for number in range(int(request.query.get("greet", "0"))):
            await ws.send_str(f"greeting {number}")
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                if message.data.startswith("close:"):
                    await ws.close(code=int(message.data.split(":")[1]), message=b"bye")
                    break
                await ws.send_str(f"echo:{message.data}")
            elif message.type is WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
        self.ws_close_codes.append(ws.close_code)
        return ws


def make_keys(infra: Infra) -> KeyRing:
    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return KeyRing.from_settings(AuthSettings.from_env(Env(infra.env(JWT_SIGNING_KEY=pem))))


@pytest.fixture
async def echoes(infra: Infra) -> AsyncIterator[dict[str, Echo]]:
    keys = make_keys(infra)
    started: dict[str, Echo] = {}
    for name in SERVICES:
        echo = Echo(name, keys)
        app = web.Application(client_max_size=16 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", echo.handle)
        echo.server = TestServer(app)
        await echo.server.start_server()
        started[name] = echo
    try:
        yield started
    finally:
        for echo in started.values():
            assert echo.server is not None
            await echo.server.close()


def url_of(echo: Echo) -> str:
    assert echo.server is not None
    return f"http://127.0.0.1:{echo.server.port}"


GatewayFactory = Callable[..., Any]


@pytest.fixture
def make_gateway(
    infra: Infra, echoes: dict[str, Echo], aiohttp_client: AiohttpClient
) -> GatewayFactory:
    async def make(**extra: str) -> AppClient:
        env = infra.env(**{f"{name.upper()}_URL": url_of(echo) for name, echo in echoes.items()})
        env.update(extra)
        return await aiohttp_client(create_app(GatewaySettings.from_env(Env(env))))

    return make


@pytest.fixture
async def gateway(make_gateway: GatewayFactory) -> AppClient:
    return await make_gateway()  # type: ignore[no-any-return]
