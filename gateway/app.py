"""Wires the gateway: the proxy behind every /api route, docs, health, and response headers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from gateway.docs import SWAGGER_STATIC, DocsCache, docs_init, docs_page
from gateway.metrics import GatewayMetrics
from gateway.proxy import RATE_LIMIT, Proxy, proxy_request
from gateway.ratelimit import RateLimiter
from gateway.revocations import Revocations
from gateway.settings import GatewaySettings
from gateway.tokens import TokenVerifier
from gateway.upstreams import Upstream
from gateway.websocket import proxy_websocket
from shared.app import create_service_app
from shared.errors import Forbidden, ServiceUnavailable
from shared.jsonfast import json_response
from shared.redis import REDIS
from shared.tasks import stop_task, supervise
from shared.web import METRICS, REQUEST_ID, REQUEST_ID_HEADER

PROXY: web.AppKey[Proxy] = web.AppKey("proxy", Proxy)
DOCS: web.AppKey[DocsCache] = web.AppKey("docs", DocsCache)
GATEWAY_SETTINGS: web.AppKey[GatewaySettings] = web.AppKey("gateway_settings", GatewaySettings)

EXPOSED_HEADERS = (
    "X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
    "Server-Timing"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'"
)


async def api(request: web.Request) -> web.StreamResponse:
    proxy = request.app[PROXY]
    if request.method == "OPTIONS":
        return preflight(request)
    if request.path == "/api/chat/ws" and request.headers.get("Upgrade", "").lower() == "websocket":
        return await proxy_websocket(request, proxy)
    return await proxy_request(request, proxy)


def allowed_origin(settings: GatewaySettings, origin: str) -> str | None:
    if not origin:
        return None
    if "*" in settings.cors_origins:
        return "*"
    return origin if origin in settings.cors_origins else None


def preflight(request: web.Request) -> web.Response:
    settings = request.app[GATEWAY_SETTINGS]
    origin = allowed_origin(settings, request.headers.get("Origin", ""))
    if origin is None:
        raise Forbidden("this origin may not call the API")
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": request.headers.get(
                "Access-Control-Request-Headers", "Authorization, Content-Type"
            ),
            "Access-Control-Max-Age": "600",
        },
    )


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Request id, CORS, rate-limit and security headers on every answer, streamed ones too."""
    headers = response.headers
    if REQUEST_ID in request:
        headers.setdefault(REQUEST_ID_HEADER, request[REQUEST_ID])
    settings = request.app[GATEWAY_SETTINGS]
    origin = allowed_origin(settings, request.headers.get("Origin", ""))
    if origin is not None:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        headers.add("Vary", "Origin")
    limit = request.get(RATE_LIMIT)
    if limit is not None:
        headers["RateLimit-Limit"], headers["RateLimit-Remaining"], headers["RateLimit-Reset"] = (
            str(limit[0]),
            str(limit[1]),
            str(limit[2]),
        )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault(
        "Content-Security-Policy", DOCS_CSP if request.path.startswith("/api/docs") else API_CSP
    )
    if request.headers.get("X-Forwarded-Proto", request.scheme) == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


async def openapi(request: web.Request) -> web.Response:
    proxy = request.app[PROXY]
    assert proxy.session is not None
    return json_response(await request.app[DOCS].document(proxy.session))


async def ready(request: web.Request) -> web.Response:
    """Ready when Redis answers and every service has a ready replica."""
    proxy = request.app[PROXY]
    assert proxy.session is not None
    session = proxy.session

    async def probe(upstream: Upstream) -> tuple[str, str]:
        replica = upstream.pick()
        if replica is None:
            return upstream.name, "unavailable: no replica"
        try:
            async with session.get(
                f"{replica.base_url}/health/ready", timeout=aiohttp.ClientTimeout(total=2)
            ) as response:
                return (
                    upstream.name,
                    "ok" if response.status == 200 else f"unavailable: {response.status}",
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            return upstream.name, f"unavailable: {type(exc).__name__}"

    async def redis_probe() -> tuple[str, str]:
        try:
            async with asyncio.timeout(2):
                await request.app[REDIS].ping()
            return "redis", "ok"
        except Exception as exc:
            return "redis", f"unavailable: {type(exc).__name__}"

    checks = dict(
        await asyncio.gather(redis_probe(), *(probe(u) for u in proxy.upstreams.values()))
    )
    ok = all(state == "ok" for state in checks.values())
    return json_response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


def create_app(settings: GatewaySettings) -> web.Application:
    upstreams = {
        name: Upstream(name, targets, settings.eject_seconds)
        for name, targets in settings.upstreams.items()
    }

    def proxy_ctx(app: web.Application) -> AsyncIterator[None]:
        return _proxy_ctx(app, settings, upstreams)

    app = create_service_app(
        settings.common,
        title="Chop-chop gateway",
        routes=[
            web.get("/api/openapi.json", openapi, name="openapi"),
            web.get("/api/docs", docs_page, name="docs"),
            web.get("/api/docs/static/init.js", docs_init, name="docs.init"),
            web.static("/api/docs/static", SWAGGER_STATIC, name="docs.static"),
            web.route("*", "/api/{tail:.*}", api, name="api"),
        ],
        client_max_size=settings.max_body,
        cleanup_ctx=[proxy_ctx],
        ready_handler=ready,
        validates_input=False,
    )
    app[GATEWAY_SETTINGS] = settings
    app[DOCS] = DocsCache(upstreams)
    app.on_response_prepare.append(add_headers)
    return app


async def _proxy_ctx(
    app: web.Application, settings: GatewaySettings, upstreams: dict[str, Upstream]
) -> AsyncIterator[None]:
    metrics = GatewayMetrics(app[METRICS].registry)
    holder: dict[str, Proxy] = {}

    async def fetch_jwks() -> dict[str, Any]:
        proxy = holder["proxy"]
        assert proxy.session is not None
        replica = proxy.upstreams["auth"].pick()
        if replica is None:
            raise ServiceUnavailable("auth is unavailable")
        async with proxy.session.get(
            f"{replica.base_url}/api/.well-known/jwks.json", timeout=aiohttp.ClientTimeout(total=3)
        ) as response:
            response.raise_for_status()
            document: dict[str, Any] = await response.json()
            return document

    verifier = TokenVerifier(fetch_jwks, settings.jwt_issuer, settings.jwt_audience)
    revocations = Revocations(app[REDIS])
    limiter = RateLimiter(app[REDIS], settings.rate_window, metrics.guard_failures)
    proxy = Proxy(settings, upstreams, verifier, revocations, limiter, metrics)
    holder["proxy"] = proxy
    await proxy.start()
    app[PROXY] = proxy
    tasks = [
        asyncio.create_task(
            supervise("resolver", lambda: _resolve_forever(upstreams, settings.resolve_interval))
        ),
        asyncio.create_task(supervise("revocations", revocations.run)),
        asyncio.create_task(supervise("rate-limit-flush", limiter.run)),
    ]
    # Serve only once the revocation list is loaded: a revoked token must never slip through.
    await asyncio.wait_for(revocations.ready.wait(), timeout=10)
    try:
        yield
    finally:
        revocations.stop()
        limiter.stop()
        await asyncio.wait(tasks[1:], timeout=2)
        await limiter.flush()
        for task in tasks:
            await stop_task(task)
        await proxy.close()


async def _resolve_forever(upstreams: dict[str, Upstream], interval: float) -> None:
    while True:
        for upstream in upstreams.values():
            await upstream.resolve()
        await asyncio.sleep(interval)
