"""Calls to other services' internal routes: timeouts, request ids and a small retry."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from shared.logs import request_id_var
from shared.transport import http1
from shared.transport.jsoncodec import dumps_bytes, loads
from shared.web.errors import ApiError, BadGateway
from shared.web.middleware import REQUEST_ID_HEADER

log = logging.getLogger(__name__)

# Shorter than aiohttp's server keep-alive (75 s): this side closes an idle socket first.
KEEPALIVE = 15.0


class InternalClient:
    """One client for all internal calls of a service; balances over each target's replicas."""

    def __init__(
        self,
        targets: Mapping[str, Sequence[str]],
        *,
        timeout: float = 5.0,
        connect_timeout: float = 1.0,
        retries: int = 1,
    ) -> None:
        self._targets = {name: [_address(url) for url in urls] for name, urls in targets.items()}
        self._cursors = {name: itertools.cycle(range(len(urls))) for name, urls in targets.items()}
        self._timeout = timeout
        self._retries = retries
        self._client = http1.Client(
            limit_per_host=100, keepalive=KEEPALIVE, connect_timeout=connect_timeout
        )

    async def close(self) -> None:
        await self._client.close()

    def _next_address(self, target: str) -> tuple[str, int]:
        addresses = self._targets[target]
        return addresses[next(self._cursors[target])]

    async def request(
        self,
        method: str,
        target: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """Sends the call and returns its JSON; a refused connection retries on the next replica."""
        headers = [("Accept", "application/json")]
        request_id = request_id_var.get()
        if request_id:
            headers.append((REQUEST_ID_HEADER, request_id))
        body = None
        if json is not None:
            body = dumps_bytes(json)
            headers.append(("Content-Type", "application/json"))
        if params:
            path = f"{path}?{urlencode(params)}"
        attempts = self._retries + 1
        for attempt in range(attempts):
            host, port = self._next_address(target)
            try:
                response = await self._client.request(
                    host, port, method, path, headers, body, time_limit=self._timeout
                )
                raw = await response.read()
            except (http1.ConnectFailed, http1.Disconnected) as exc:
                # Nothing was processed (refused) or the keep-alive socket was closed under us:
                # internal calls are reads or idempotent writes, so one more try is safe.
                if attempt + 1 < attempts:
                    log.info("internal call retried", extra={"target": target, "error": str(exc)})
                    continue
                raise BadGateway(f"{target} is unreachable") from exc
            except TimeoutError as exc:
                raise BadGateway(f"{target} timed out") from exc
            except http1.ProtocolError as exc:
                raise BadGateway(f"{target} answered something that is not HTTP") from exc
            return _answer(target, response.status, raw)
        raise BadGateway(f"{target} is unreachable")  # pragma: no cover - loop always returns


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"internal targets are http:// URLs, got {url!r}")
    return parts.hostname, parts.port or 80


def _answer(target: str, status: int, raw: bytes) -> Any:
    if status >= 500:
        raise BadGateway(f"{target} answered {status}")
    try:
        body = loads(raw) if raw else None
    except ValueError as exc:
        raise BadGateway(f"{target} answered something that is not JSON") from exc
    if status >= 400:
        error = ApiError(_first_message(body) or f"{target} refused the call")
        error.status = status
        raise error
    return body


def _first_message(body: Any) -> str | None:
    try:
        messages = body["errors"]["body"]
        return str(messages[0]) if messages else None
    except (KeyError, TypeError, IndexError):
        return None
