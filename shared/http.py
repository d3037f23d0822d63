"""Calls to other services' internal routes: timeouts, request ids and a small retry."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from shared.errors import ApiError, BadGateway
from shared.jsonfast import dumps, loads
from shared.logs import request_id_var
from shared.web import REQUEST_ID_HEADER

log = logging.getLogger(__name__)


class InternalClient:
    """One session for all internal calls of a service; balances over each target's replicas."""

    def __init__(
        self,
        targets: Mapping[str, Sequence[str]],
        *,
        timeout: float = 5.0,
        connect_timeout: float = 1.0,
        retries: int = 1,
    ) -> None:
        self._targets = {name: list(urls) for name, urls in targets.items()}
        self._cursors = {name: itertools.cycle(range(len(urls))) for name, urls in targets.items()}
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self._retries = retries
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=200, limit_per_host=100, keepalive_timeout=15)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, json_serialize=dumps
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _next_base(self, target: str) -> str:
        urls = self._targets[target]
        return urls[next(self._cursors[target])]

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
        assert self._session is not None, "InternalClient.start() was not awaited"
        headers = {}
        request_id = request_id_var.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        attempts = self._retries + 1
        for attempt in range(attempts):
            url = self._next_base(target) + path
            try:
                async with self._session.request(
                    method, url, params=params, json=json, headers=headers
                ) as response:
                    if response.status >= 500:
                        raise BadGateway(f"{target} answered {response.status}")
                    body = await response.json(loads=loads) if response.status != 204 else None
                    if response.status >= 400:
                        error = ApiError(_first_message(body) or f"{target} refused the call")
                        error.status = response.status
                        raise error
                    return body
            except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError) as exc:
                # Nothing was processed (refused) or the keep-alive socket was closed under us:
                # internal calls are reads or idempotent writes, so one more try is safe.
                if attempt + 1 < attempts:
                    log.info("internal call retried", extra={"target": target, "error": str(exc)})
                    continue
                raise BadGateway(f"{target} is unreachable") from exc
            except TimeoutError as exc:
                raise BadGateway(f"{target} timed out") from exc
        raise BadGateway(f"{target} is unreachable")  # pragma: no cover - loop always returns


def _first_message(body: Any) -> str | None:
    try:
        messages = body["errors"]["body"]
        return str(messages[0]) if messages else None
    except (KeyError, TypeError, IndexError):
        return None
