"""Admission of a request at the gateway: its route, its token, revocation and rate limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web

from gateway.headers import RATE_LIMIT
from gateway.metrics import GatewayMetrics
from gateway.ratelimit import RateLimiter
from gateway.routing import Access, NoRoute, Route, match
from gateway.settings import GatewaySettings
from gateway.tokens import Identity, InvalidToken, TokenVerifier
from shared.contracts.revocation import Revocations
from shared.web.errors import (
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)

# Stands for an OPTIONS request that no route lists: a CORS preflight, answered here.
PREFLIGHT = Route(frozenset({"OPTIONS"}), re.compile(""), "gateway", Access.PUBLIC)


@dataclass
class Context:
    route: Route
    identity: Identity | None
    client_ip: str
    started: float


class Admission:
    """Decides whether a request may pass and who sends it; the proxy forwards what passes."""

    def __init__(
        self,
        settings: GatewaySettings,
        verifier: TokenVerifier,
        revocations: Revocations,
        limiter: RateLimiter,
        metrics: GatewayMetrics,
    ) -> None:
        self.settings = settings
        self.verifier = verifier
        self.revocations = revocations
        self.limiter = limiter
        self.metrics = metrics

    @staticmethod
    def route(request: web.Request) -> Route:
        try:
            return match(request.method, request.path)
        except NoRoute as exc:
            if request.method == "OPTIONS":
                return PREFLIGHT
            if exc.path_exists:
                raise MethodNotAllowed(
                    f"{request.method} is not allowed on {request.path}", exc.allowed | {"OPTIONS"}
                ) from None
            raise NotFound(f"no route for {request.path}") from None

    def client_ip(self, request: web.Request) -> str:
        peer = request.remote or "unknown"
        if self.settings.trust_forwarded:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                return forwarded.rsplit(",", 1)[-1].strip() or peer
        return peer

    async def admit(
        self, request: web.Request, route: Route, token: str | None, started: float
    ) -> Context:
        identity = None
        if token is not None:
            try:
                identity = await self.verifier.verify(token)
            except InvalidToken:
                raise Unauthorized("the token is invalid or expired") from None
            if not self.revocations.ready.is_set():
                # Until the list of ended sessions is loaded, no token can be trusted.
                raise ServiceUnavailable("sign-in is unavailable for a moment; try again")
            if self.revocations.is_revoked(identity.session_id):
                raise Unauthorized("the token was revoked")
        elif route.access is Access.REQUIRED:
            raise Unauthorized("authentication is required")
        client_ip = self.client_ip(request)
        limits = self.settings.rate_limits[route.group]
        if identity is not None:
            subject, limit = f"u:{identity.user_id}", limits.user
        else:
            subject, limit = f"ip:{client_ip}", limits.anonymous
        verdict = self.limiter.count(route.group, subject, limit)
        if verdict is None:  # near the limit: counted in Redis now
            verdict = await self.limiter.count_shared(route.group, subject, limit)
        if verdict.limit:
            request[RATE_LIMIT] = (verdict.limit, verdict.remaining, verdict.reset)
        if verdict.limited:
            self.metrics.rate_limited.labels(route.group).inc()
            raise TooManyRequests("rate limit exceeded; slow down", retry_after=verdict.reset)
        return Context(route, identity, client_ip, started)
