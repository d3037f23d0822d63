"""Wires the gateway: the proxy behind every /api route, docs, health and metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from gateway.clients import AuthClient
from gateway.docs import DocsCache, docs_init, docs_page, docs_static
from gateway.guard import Guard
from gateway.headers import ResponseHeaders
from gateway.keys import DOCS, GATEWAY_SETTINGS, PROXY
from gateway.links import old_invite_link
from gateway.metrics import GatewayMetrics
from gateway.proxy import Proxy
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings
from gateway.tokens import TokenVerifier
from gateway.upstreams import Resolver, Upstream, resolve_all, resolve_forever, upstreams_of
from gateway.webclient import WebClient
from shared.contracts.revocation import Revocations
from shared.data.redis import redis_ctx
from shared.keys import REDIS, SETTINGS
from shared.service.app import health
from shared.tasks import stop_task, supervise, wait_set
from shared.web.jsoncodec import json_response
from shared.web.middleware import METRICS, Metrics, metrics_handler

log = logging.getLogger(__name__)


async def api(request: web.Request) -> web.StreamResponse:
    # An invite link of an earlier release opened in a browser goes to the web client's page.
    moved = old_invite_link(request)
    if moved is not None:
        return moved
    return await request.app[PROXY].serve(request)


async def openapi(request: web.Request) -> web.Response:
    proxy = request.app[PROXY]
    assert proxy.session is not None
    return json_response(await request.app[DOCS].document(proxy.session))


async def ready(request: web.Request) -> web.Response:
    """Ready when Redis answers and every service has at least one ready replica: one dead
    replica of several is the balancer's business, not a reason to take the gateway out.
    Every replica's state is in `replicas`."""
    proxy = request.app[PROXY]
    assert proxy.session is not None
    session = proxy.session

    async def probe_replica(base_url: str) -> str:
        try:
            async with session.get(
                f"{base_url}/health/ready", timeout=aiohttp.ClientTimeout(total=2)
            ) as response:
                return "ok" if response.status == 200 else f"unavailable: {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"unavailable: {type(exc).__name__}"

    async def probe(upstream: Upstream) -> tuple[str, dict[str, str]]:
        urls = [replica.base_url for replica in upstream.replicas]
        states = await asyncio.gather(*(probe_replica(url) for url in urls))
        return upstream.name, dict(zip(urls, states, strict=True))

    async def redis_probe() -> str:
        try:
            async with asyncio.timeout(2):
                await request.app[REDIS].ping()
            return "ok"
        except Exception as exc:
            return f"unavailable: {type(exc).__name__}"

    redis_state, services = await asyncio.gather(
        redis_probe(), asyncio.gather(*(probe(u) for u in proxy.upstreams.values()))
    )
    replicas = dict(services)
    checks = {"redis": redis_state}
    for name, states in replicas.items():
        healthy = sum(state == "ok" for state in states.values())
        checks[name] = "ok" if healthy else (next(iter(states.values()), "unavailable: no replica"))
    ok = all(state == "ok" for state in checks.values())
    return json_response(
        {"status": "ok" if ok else "unavailable", "checks": checks, "replicas": replicas},
        status=200 if ok else 503,
    )


def create_app(settings: GatewaySettings, *, resolver: Resolver | None = None) -> web.Application:
    """The gateway; `resolver` replaces the system's name resolution (tests map names to
    addresses with it)."""
    upstreams = upstreams_of(settings, resolver)

    def proxy_ctx(app: web.Application) -> AsyncIterator[None]:
        return _proxy_ctx(app, settings, upstreams)

    # No middlewares: Guard wraps each handler instead (see gateway/guard.py).
    app = web.Application(client_max_size=settings.max_body)
    app[SETTINGS] = settings.common
    app[GATEWAY_SETTINGS] = settings
    app[METRICS] = Metrics("gateway")
    app[DOCS] = DocsCache(upstreams)
    app.cleanup_ctx.extend([redis_ctx, proxy_ctx])
    guard = Guard(ResponseHeaders(settings.cors_origins), app[METRICS])
    routes = [
        ("GET", "/api/openapi.json", openapi),
        ("GET", "/api/docs", docs_page),
        ("GET", "/api/docs/static/init.js", docs_init),
        ("GET", "/api/docs/static/{name}", docs_static),
        # [\s\S], not ".": a path may hold a newline (%0A), which "." does not match, and
        # an unmatched path would get aiohttp's text/plain 404 rather than ours.
        ("*", "/api/{tail:[\\s\\S]*}", api),
        ("GET", "/health", health),
        ("GET", "/health/ready", ready),
        ("GET", "/metrics", metrics_handler),
        # Any other path: a file of the web client or one of its pages (see webclient.py).
        ("*", "/{tail:[\\s\\S]*}", WebClient(settings.web_dir).serve),
    ]
    for method, path, handler in routes:
        label = "api" if handler is api else ("web" if path.startswith("/{") else path)
        app.router.add_route(method, path, guard.wrap(handler, label))
    return app


async def create_app_from_env() -> web.Application:
    """gunicorn's entry point (`gateway.app:create_app_from_env`, see deploy/): the app
    `python -m gateway` serves, built from the environment in each worker. Async because
    aiohttp's gunicorn worker awaits a coroutine function but refuses a plain callable."""
    return create_app(GatewaySettings.from_env())


async def _proxy_ctx(
    app: web.Application, settings: GatewaySettings, upstreams: dict[str, Upstream]
) -> AsyncIterator[None]:
    metrics = GatewayMetrics(app[METRICS].registry)
    auth = AuthClient(upstreams["auth"], settings.common.internal_keys)
    verifier = TokenVerifier(auth.jwks, settings.jwt_issuer, settings.jwt_audience)
    revocations = Revocations(app[REDIS], auth.revoked)
    limiter = RateLimiter(app[REDIS], settings.rate_window, metrics.guard_failures)
    proxy = Proxy(settings, upstreams, verifier, revocations, limiter, metrics)
    await proxy.start()
    auth.session = proxy.session
    await resolve_all(upstreams)  # serve with every replica known, not the bare names
    app[PROXY] = proxy
    tasks = [
        asyncio.create_task(
            supervise("resolver", lambda: resolve_forever(upstreams, settings.resolve_interval))
        ),
        asyncio.create_task(supervise("revocations", revocations.run)),
        asyncio.create_task(supervise("rate-limit-flush", limiter.run)),
    ]
    # Tokens are refused (503) until the list of ended sessions is loaded from auth (see
    # admission): waiting here lets a gateway started beside auth serve them from the start.
    if not await wait_set(revocations.ready, 10):
        log.warning("the revocation list is not loaded yet; tokens are refused until it is")
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
