"""The gateway's own calls to a service (not the requests it forwards): auth_service's signing
keys (JWKS) and the sessions ended since a cursor, over the proxy's aiohttp session."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from gateway.upstreams import Upstream
from shared.contracts.revocation import Page, page_from_json
from shared.settings import InternalKeys
from shared.transport.failover import Failover, failure_of
from shared.web import internal_auth
from shared.web.errors import ServiceUnavailable

AUTH_TIMEOUT = 3.0  # seconds for a call, every attempt included


class AuthClient:
    """Reads from auth's replicas by the one failover policy (shared/transport/failover.py),
    as the proxy does: a replica that fails is ejected, and these reads, GETs, go on to
    another replica after a refused or dropped connection, within the call's one deadline."""

    def __init__(self, upstream: Upstream, keys: InternalKeys) -> None:
        self.upstream = upstream
        self.keys = keys
        # The proxy's session, set once the proxy has started (the verifier and the
        # revocation list that call here are built before it).
        self.session: aiohttp.ClientSession | None = None

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        assert self.session is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + AUTH_TIMEOUT
        failover = Failover(self.upstream, repeatable=True)
        while True:
            replica = failover.next()
            left = deadline - loop.time()
            if replica is None or left <= 0:
                raise ServiceUnavailable("auth is unavailable")
            # The gateway's own calls carry its credential, as the internal routes require.
            proof = internal_auth.sign(self.keys, internal_auth.GATEWAY, "GET", path)
            try:
                async with self.session.get(
                    f"{replica.base_url}{path}",
                    params=params,
                    headers={internal_auth.HEADER: proof},
                    timeout=aiohttp.ClientTimeout(total=left),
                ) as response:
                    response.raise_for_status()
                    document = await response.json()
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = failure_of(exc)
                if failure is not None and failover.failed(replica, failure):
                    continue
                raise
            self.upstream.succeeded(replica)
            return document

    async def jwks(self) -> dict[str, Any]:
        document: dict[str, Any] = await self._get("/api/.well-known/jwks.json")
        return document

    async def revoked(self, cursor: str | None) -> Page:
        params = {"after": cursor} if cursor else None
        return page_from_json(await self._get("/internal/sessions/revoked", params))
