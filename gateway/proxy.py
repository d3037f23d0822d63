"""Forwarding a request to a replica of its service, and the response back, streamed."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from gateway.metrics import GatewayMetrics
from gateway.ratelimit import RateLimiter
from gateway.revocations import Revocations
from gateway.routing import Access, Kind, NoRoute, Route, match
from gateway.settings import GatewaySettings
from gateway.tokens import Identity, InvalidToken, TokenVerifier, token_from_header
from gateway.upstreams import Replica, Upstream
from shared.errors import (
    ApiError,
    BadGateway,
    GatewayTimeout,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from shared.identity import (
    CLIENT_IP_HEADER,
    IDENTITY_HEADERS,
    TOKEN_ID_HEADER,
    USER_ID_HEADER,
    USERNAME_HEADER,
)
from shared.web import REQUEST_ID, REQUEST_ID_HEADER

log = logging.getLogger(__name__)

# RFC 9110 7.6.1: connection-specific fields never travel past one hop.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = HOP_BY_HOP | {
    "host",
    "content-length",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    REQUEST_ID_HEADER.lower(),
    *(h.lower() for h in IDENTITY_HEADERS),
}
_NOT_RETURNED = HOP_BY_HOP | {"content-length", "server", "date"}
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BUFFERED_RESPONSE_LIMIT = 256 * 1024
# (limit, remaining, seconds to reset) of the window that admitted the request
RATE_LIMIT: web.RequestKey[tuple[int, int, int]] = web.RequestKey("rate_limit", tuple)
CHUNK = 64 * 1024


class LimitedStream:
    """An upload passed on chunk by chunk, never held whole, cut off past its limit."""

    def __init__(self, request: web.Request, limit: int) -> None:
        self.request = request
        self.limit = limit
        self.exceeded = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self.request.content.iter_chunked(CHUNK):
            sent += len(chunk)
            if sent > self.limit:
                self.exceeded = True
                raise PayloadTooLarge(f"the request body is larger than {self.limit} bytes")
            yield chunk


@dataclass
class Context:
    route: Route
    identity: Identity | None
    client_ip: str
    started: float


class Proxy:
    def __init__(
        self,
        settings: GatewaySettings,
        upstreams: dict[str, Upstream],
        verifier: TokenVerifier,
        revocations: Revocations,
        limiter: RateLimiter,
        metrics: GatewayMetrics,
    ) -> None:
        self.settings = settings
        self.upstreams = upstreams
        self.verifier = verifier
        self.revocations = revocations
        self.limiter = limiter
        self.metrics = metrics
        self.session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(
            total=settings.request_timeout, sock_connect=settings.connect_timeout
        )
        self._upload_timeout = aiohttp.ClientTimeout(
            total=settings.upload_timeout, sock_connect=settings.connect_timeout
        )

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=0,
            limit_per_host=self.settings.pool_size,
            keepalive_timeout=self.settings.keepalive_timeout,
            use_dns_cache=False,
            enable_cleanup_closed=True,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    # Admission: route, token, limits.

    def client_ip(self, request: web.Request) -> str:
        peer = request.remote or "unknown"
        if self.settings.trust_forwarded:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                return forwarded.rsplit(",", 1)[-1].strip() or peer
        return peer

    async def admit(self, request: web.Request, token: str | None) -> Context:
        started = time.perf_counter()
        try:
            route = match(request.method, request.path)
        except NoRoute as exc:
            if exc.path_exists:
                raise MethodNotAllowed(
                    f"{request.method} is not allowed on {request.path}"
                ) from None
            raise NotFound(f"no route for {request.path}") from None
        identity = None
        if token is not None:
            try:
                identity = await self.verifier.verify(token)
            except InvalidToken:
                raise Unauthorized("the token is invalid or expired") from None
        elif route.access is Access.REQUIRED:
            raise Unauthorized("authentication is required")
        client_ip = self.client_ip(request)
        limits = self.settings.rate_limits[route.group]
        if identity is not None:
            subject, limit = f"u:{identity.user_id}", limits.user
        else:
            subject, limit = f"ip:{client_ip}", limits.anonymous
        if identity is not None and self.revocations.is_revoked(identity.jti):
            raise Unauthorized("the token was revoked")
        verdict = await self.limiter.hit(route.group, subject, limit)
        if verdict.limit:
            request[RATE_LIMIT] = (verdict.limit, verdict.remaining, verdict.reset)
        if verdict.limited:
            self.metrics.rate_limited.labels(route.group).inc()
            raise TooManyRequests("rate limit exceeded; slow down", retry_after=verdict.reset)
        return Context(route, identity, client_ip, started)

    def upstream_headers(self, request: web.Request, context: Context) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        connection_tokens = {
            t.strip().lower() for t in request.headers.get("Connection", "").split(",")
        }
        for name, value in request.headers.items():
            lowered = name.lower()
            if lowered not in _NOT_FORWARDED and lowered not in connection_tokens:
                headers.add(name, value)
        forwarded = (
            request.headers.get("X-Forwarded-For", "") if self.settings.trust_forwarded else ""
        )
        peer = request.remote or "unknown"
        headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
        headers["X-Forwarded-Proto"] = request.scheme
        headers["X-Forwarded-Host"] = request.host
        headers[CLIENT_IP_HEADER] = context.client_ip
        headers[REQUEST_ID_HEADER] = request[REQUEST_ID]
        if context.identity is not None:
            headers[USER_ID_HEADER] = context.identity.user_id
            headers[USERNAME_HEADER] = context.identity.username
            headers[TOKEN_ID_HEADER] = context.identity.jti
        return headers

    # Forwarding.

    async def _body(self, request: web.Request, context: Context) -> bytes | LimitedStream | None:
        if not request.body_exists:
            return None
        limit = (
            self.settings.max_upload
            if context.route.kind is Kind.UPLOAD
            else self.settings.max_body
        )
        declared = request.content_length
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        if context.route.kind is not Kind.UPLOAD:
            return await request.read()  # small, and kept so that a retry can resend it
        return LimitedStream(request, limit)

    async def forward(self, request: web.Request, context: Context) -> web.StreamResponse:
        assert self.session is not None
        route = context.route
        upstream = self.upstreams[route.service]
        body = await self._body(request, context)
        headers = self.upstream_headers(request, context)
        if isinstance(body, LimitedStream) and request.content_length is not None:
            headers["Content-Length"] = str(request.content_length)
        timeout = self._upload_timeout if route.kind is Kind.UPLOAD else self._timeout
        tried: set[Replica] = set()
        disconnect_retried = False
        while True:
            replica = upstream.pick(tried)
            if replica is None:
                self.metrics.errors.labels(upstream.name, "no_replica").inc()
                raise ServiceUnavailable(f"{upstream.name} is unavailable")
            tried.add(replica)
            replica.outstanding += 1
            sent_at = time.perf_counter()
            try:
                response = await self.session.request(
                    request.method,
                    replica.base_url + request.path_qs,
                    headers=headers,
                    data=body,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except Exception as exc:
                replica.outstanding -= 1
                retry = self._after_failure(
                    exc, request.method, body, upstream, replica, tried, disconnect_retried
                )
                disconnect_retried = disconnect_retried or retry == "disconnect"
                self.metrics.retries.labels(upstream.name).inc()
                continue
            try:
                upstream.succeeded(replica)
                upstream_seconds = time.perf_counter() - sent_at
                self.metrics.answered(upstream.name, response.status, upstream_seconds)
                return await self.relay(request, response, context, upstream_seconds)
            finally:
                replica.outstanding -= 1
                response.release()

    def _after_failure(
        self,
        exc: Exception,
        method: str,
        body: bytes | LimitedStream | None,
        upstream: Upstream,
        replica: Replica,
        tried: set[Replica],
        disconnect_retried: bool,
    ) -> str:
        """Why a failed attempt may go to another replica ("connect", "disconnect"); else raises."""
        name = upstream.name
        if isinstance(body, LimitedStream) and body.exceeded:
            raise PayloadTooLarge(f"the request body is larger than {body.limit} bytes") from None
        if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            # Nothing reached the replica: any method may go to another one.
            upstream.eject(replica)
            self.metrics.ejections.labels(name).inc()
            self.metrics.errors.labels(name, "connect").inc()
            if len(tried) < len(upstream.replicas):
                return "connect"
            raise BadGateway(f"{name} is unreachable") from exc
        if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
            # The request may have been processed: only an idempotent one is sent again, once.
            # This is also the race of reusing a keep-alive socket that the replica is closing.
            self.metrics.errors.labels(name, "disconnect").inc()
            replayable = body is None or isinstance(body, bytes)
            if method in IDEMPOTENT and replayable and not disconnect_retried:
                if len(upstream.replicas) == 1:
                    tried.discard(replica)  # the only replica: a fresh socket to it
                return "disconnect"
            raise BadGateway(f"{name} closed the connection") from exc
        if isinstance(exc, TimeoutError):
            # Sent and unanswered: it may be running, so it is never sent again.
            upstream.eject(replica)
            self.metrics.ejections.labels(name).inc()
            self.metrics.errors.labels(name, "timeout").inc()
            raise GatewayTimeout(f"{name} did not answer in time") from exc
        if isinstance(exc, ApiError):
            raise exc
        self.metrics.errors.labels(name, "other").inc()
        raise BadGateway(f"{name} failed") from exc

    async def relay(
        self,
        request: web.Request,
        upstream: aiohttp.ClientResponse,
        context: Context,
        upstream_seconds: float,
    ) -> web.StreamResponse:
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in upstream.headers.items():
            if name.lower() not in _NOT_RETURNED:
                headers.add(name, value)
        total = time.perf_counter() - context.started
        gateway_ms = max(total - upstream_seconds, 0) * 1000
        headers["Server-Timing"] = (
            f"gateway;dur={gateway_ms:.2f}, upstream;dur={upstream_seconds * 1000:.2f}"
        )
        length = upstream.content_length
        if length is not None and length <= BUFFERED_RESPONSE_LIMIT:
            body = await upstream.read()
            return web.Response(body=body, status=upstream.status, headers=headers)
        response = web.StreamResponse(status=upstream.status, headers=headers)
        if length is not None:
            response.content_length = length
        await response.prepare(request)
        async for chunk in upstream.content.iter_chunked(CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response


async def proxy_request(request: web.Request, proxy: Proxy) -> web.StreamResponse:
    try:
        token = token_from_header(request.headers.get("Authorization", ""))
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from None
    context = await proxy.admit(request, token)
    return await proxy.forward(request, context)
