"""Forwarding a request to a replica of its service, and the response back, streamed."""

from __future__ import annotations

import logging
import time

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from gateway.admission import PREFLIGHT, Admission, Context
from gateway.bodies import Answer, LimitedStream, StreamedAnswer
from gateway.headers import ResponseHeaders
from gateway.metrics import GatewayMetrics
from gateway.ratelimit import RateLimiter
from gateway.routing import Kind
from gateway.settings import GatewaySettings
from gateway.tokens import InvalidToken, TokenVerifier, token_from_header
from gateway.upstreams import Replica, Upstream
from gateway.websocket import SessionSockets, proxy_websocket
from shared.contracts.revocation import Revocations
from shared.transport import http1
from shared.transport.failover import Failover, Failure, failure_of, repeatable
from shared.web import internal_auth
from shared.web.errors import (
    ApiError,
    BadGateway,
    Forbidden,
    GatewayTimeout,
    PayloadTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    Unauthorized,
)
from shared.web.idempotency import HEADER as IDEMPOTENCY_HEADER
from shared.web.identity import (
    CLIENT_IP_HEADER,
    IDENTITY_HEADERS,
    ROLE_HEADER,
    TOKEN_ID_HEADER,
    USER_ID_HEADER,
    USERNAME_HEADER,
)
from shared.web.middleware import REQUEST_ID, REQUEST_ID_HEADER

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
    "expect",  # the body is read here before it is sent on
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    REQUEST_ID_HEADER.lower(),
    internal_auth.HEADER.lower(),
    *(h.lower() for h in IDENTITY_HEADERS),
}
_NOT_RETURNED = HOP_BY_HOP | {"content-length", "server", "date"}
BUFFERED_RESPONSE_LIMIT = 256 * 1024


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
        self.admission = Admission(settings, verifier, revocations, limiter, metrics)
        self.sockets = SessionSockets()
        revocations.listeners.append(self.sockets.end)
        self.metrics = metrics
        self.headers = ResponseHeaders(settings.cors_origins)
        self.session: aiohttp.ClientSession | None = None  # uploads and websockets
        self.client = http1.Client(
            limit_per_host=settings.pool_size,
            keepalive=settings.keepalive_timeout,
            connect_timeout=settings.connect_timeout,
            on_peer_closed=self._going_away,
        )
        self._upload_timeout = aiohttp.ClientTimeout(
            total=settings.upload_timeout, sock_connect=settings.connect_timeout
        )

    def _going_away(self, host: str, port: int) -> None:
        """A replica ended an idle connection: it is stopping, or its process died. Ejected
        now, so that no request waits on its address until the name stops resolving to it."""
        for upstream in self.upstreams.values():
            if upstream.going_away(host, port):
                self.metrics.ejections.labels(upstream.name).inc()

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
            # Cookies belong to the clients: a jar here would mix those of different users.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def close(self) -> None:
        await self.client.close()
        if self.session is not None:
            await self.session.close()

    async def serve(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        route = self.admission.route(request)
        if route is PREFLIGHT:
            preflight = self.headers.preflight(request)
            if preflight is None:
                raise Forbidden("this origin may not call the API")
            return preflight
        try:
            token = token_from_header(request.headers.get("Authorization", ""))
        except InvalidToken as exc:
            raise Unauthorized(str(exc)) from None
        upgrade = (
            route.kind is Kind.WEBSOCKET
            and request.headers.get("Upgrade", "").lower() == "websocket"
        )
        if upgrade:
            # Browsers cannot set headers on a websocket: the token may come in the query.
            token = token or request.query.get("token") or None
        context = await self.admission.admit(request, route, token, started)
        if upgrade:
            return await proxy_websocket(
                request,
                context,
                self.upstreams[route.service],
                self.upstream_headers(request, context),
                self.settings,
                self.headers,
                self.sockets,
            )
        return await self.forward(request, context)

    def upstream_headers(self, request: web.Request, context: Context) -> list[tuple[str, str]]:
        incoming = request.headers
        connection = incoming.get("Connection")
        dropped = _NOT_FORWARDED
        if connection:  # fields the client named in Connection are hop-by-hop as well
            dropped = dropped | {token.strip().lower() for token in connection.split(",")}
        headers = [(name, value) for name, value in incoming.items() if name.lower() not in dropped]
        peer = request.remote or "unknown"
        forwarded = incoming.get("X-Forwarded-For") if self.settings.trust_forwarded else None
        headers += (
            ("X-Forwarded-For", f"{forwarded}, {peer}" if forwarded else peer),
            ("X-Forwarded-Proto", request.scheme),
            ("X-Forwarded-Host", request.host),
            (CLIENT_IP_HEADER, context.client_ip),
            (REQUEST_ID_HEADER, request[REQUEST_ID]),
        )
        vouched = {CLIENT_IP_HEADER: context.client_ip}
        identity = context.identity
        if identity is not None:
            vouched[USER_ID_HEADER] = identity.user_id
            vouched[USERNAME_HEADER] = identity.username
            vouched[ROLE_HEADER] = identity.role
            vouched[TOKEN_ID_HEADER] = identity.jti
            headers += (
                (USER_ID_HEADER, identity.user_id),
                (USERNAME_HEADER, identity.username),
                (ROLE_HEADER, identity.role),
                (TOKEN_ID_HEADER, identity.jti),
            )
        # The services believe the identity only with this signature over it and the request.
        keys = self.settings.common.internal_keys
        proof = internal_auth.sign(
            keys, internal_auth.GATEWAY, request.method, request.raw_path, vouched
        )
        headers.append((internal_auth.HEADER, proof))
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
        route = context.route
        upstream = self.upstreams[route.service]
        body = await self._body(request, context)
        headers = self.upstream_headers(request, context)
        # An upload is read as it is sent: it cannot be sent twice.
        failover = Failover(
            upstream,
            not isinstance(body, LimitedStream)
            and repeatable(request.method, idempotency_key=IDEMPOTENCY_HEADER in request.headers),
        )
        while True:
            replica = failover.next()
            if replica is None:
                self.metrics.errors.labels(upstream.name, "no_replica").inc()
                raise ServiceUnavailable(f"{upstream.name} is unavailable")
            replica.outstanding += 1
            sent_at = time.perf_counter()
            try:
                response = await self._send(request, replica, headers, body)
            except Exception as exc:
                replica.outstanding -= 1
                self._after_failure(exc, request, body, failover, replica)
                self.metrics.retries.labels(upstream.name).inc()
                continue
            try:
                upstream.succeeded(replica)
                if _going_away(response):
                    # Our servers refuse to keep a connection only while they shut down
                    # (shared/service/deadlines.py): new requests go to the other replicas.
                    upstream.eject(replica)
                    self.metrics.ejections.labels(upstream.name).inc()
                upstream_seconds = time.perf_counter() - sent_at
                self.metrics.answered(upstream.name, response.status, upstream_seconds)
                return await self.relay(request, response, context, upstream_seconds)
            finally:
                replica.outstanding -= 1
                response.release()

    async def _send(
        self,
        request: web.Request,
        replica: Replica,
        headers: list[tuple[str, str]],
        body: bytes | LimitedStream | None,
    ) -> Answer:
        # The path as the client encoded it: decoding and re-encoding it here could turn an
        # escaped "/" into a separator on the way in.
        target = request.raw_path
        if not isinstance(body, LimitedStream):
            return await self.client.request(
                replica.host,
                replica.port,
                request.method,
                target,
                headers,
                body,
                time_limit=self.settings.request_timeout,
            )
        # Uploads stream through aiohttp's client, which sends a body as it is read.
        assert self.session is not None
        if request.content_length is not None:
            headers = [*headers, ("Content-Length", str(request.content_length))]
        response = await self.session.request(
            request.method,
            URL(replica.base_url + target, encoded=True),
            headers=headers,
            data=body,
            timeout=self._upload_timeout,
            allow_redirects=False,
        )
        return StreamedAnswer(response)

    def _after_failure(
        self,
        exc: Exception,
        request: web.Request,
        body: bytes | LimitedStream | None,
        failover: Failover,
        replica: Replica,
    ) -> None:
        """Returns when the failed attempt may go to another replica (the policy of
        shared/transport/failover.py); raises the error to answer otherwise."""
        name = failover.balancer.name
        if isinstance(body, LimitedStream):
            if body.exceeded:
                raise PayloadTooLarge(
                    f"the request body is larger than {body.limit} bytes"
                ) from None
            # The client stopped sending its upload: its fault, not the replica's.
            stalled = request.content.exception()
            if isinstance(stalled, RequestTimeout):
                raise stalled from None
        if isinstance(exc, ApiError):
            raise exc
        failure = failure_of(exc)
        if failure is None:
            self.metrics.errors.labels(name, "other").inc()
            raise BadGateway(f"{name} failed") from exc
        self.metrics.errors.labels(name, failure.value).inc()
        self.metrics.ejections.labels(name).inc()
        if failover.failed(replica, failure):
            return
        if failure is Failure.TIMED_OUT:
            raise GatewayTimeout(f"{name} did not answer in time") from exc
        if failure is Failure.DROPPED:
            raise BadGateway(f"{name} closed the connection") from exc
        if failure is Failure.GARBLED:
            raise BadGateway(f"{name} answered something that is not HTTP") from exc
        raise BadGateway(f"{name} is unreachable") from exc

    async def relay(
        self,
        request: web.Request,
        upstream: Answer,
        context: Context,
        upstream_seconds: float,
    ) -> web.StreamResponse:
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in upstream.headers:
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
        self.headers.apply(request, response, request[REQUEST_ID])
        await response.prepare(request)
        async for chunk in upstream.iter_chunks():
            await response.write(chunk)
        await response.write_eof()
        return response


def _going_away(answer: Answer) -> bool:
    """Whether the replica said `Connection: close` (checked only when it did not keep the
    connection: the header is not read on every answer)."""
    if not isinstance(answer, http1.Response) or answer.keep_alive:
        return False
    return "close" in (answer.header("Connection") or "").lower()
