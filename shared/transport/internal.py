"""Calls to other services' internal routes: balanced over replicas, failed over, one deadline."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from shared.logs import request_id_var
from shared.settings import ENVIRONMENTS, Env, InternalKeys
from shared.tasks import stop_task, supervise
from shared.transport import http1
from shared.transport.balancer import Balancer, Replica, Resolver
from shared.transport.failover import Failover, Failure, failure_of, repeatable
from shared.web import internal_auth
from shared.web.errors import ApiError, BadGateway, ServiceUnavailable
from shared.web.jsoncodec import dumps_bytes, loads
from shared.web.middleware import REQUEST_ID_HEADER

log = logging.getLogger(__name__)

# Shorter than aiohttp's server keep-alive (75 s): this side closes an idle socket first.
KEEPALIVE = 15.0


class InternalClient:
    """One client for all internal calls of a service; balances over each target's replicas.

    A failed attempt ejects its replica, and the call goes on to another one when sending
    it again is safe, by the policy of shared/transport/failover.py that the gateway
    follows too: after a refused connection always; after a dropped one for a repeatable
    call (an idempotent method, or `idempotent=True`). Every attempt shares the call's one
    deadline (`timeout`). Each call carries the
    credential of `issuer` (shared/web/internal_auth.py), signed with `keys` (by default
    those the process environment names, as its settings read them).
    """

    def __init__(
        self,
        targets: Mapping[str, Sequence[str]],
        *,
        timeout: float = 5.0,
        connect_timeout: float = 1.0,
        eject_seconds: float = 10.0,
        resolve_interval: float = 5.0,
        resolver: Resolver | None = None,
        keys: InternalKeys | None = None,
        issuer: str = "service",
    ) -> None:
        if keys is None:
            env = Env()
            keys = InternalKeys.from_env(
                env, env.choice("ENVIRONMENT", "development", ENVIRONMENTS)
            )
        self._keys = keys
        self._issuer = issuer
        self.balancers = {
            name: Balancer(name, urls, eject_seconds=eject_seconds, resolver=resolver)
            for name, urls in targets.items()
        }
        self._timeout = timeout
        self._resolve_interval = resolve_interval
        self._resolving: list[asyncio.Task[None]] | None = None
        self._client = http1.Client(
            limit_per_host=100, keepalive=KEEPALIVE, connect_timeout=connect_timeout
        )

    async def close(self) -> None:
        for task in self._resolving or ():
            await stop_task(task)
        await self._client.close()

    async def _start_resolving(self, deadline: float) -> None:
        """On the first call (the client is built before the loop runs): resolves every
        name once, then keeps re-resolving in the background until `close`."""
        self._resolving = []
        named = [b for b in self.balancers.values() if b.names]
        if not named:
            return
        try:
            async with asyncio.timeout_at(deadline):
                await asyncio.gather(*(b.resolve() for b in named))
        except TimeoutError:
            pass  # the names themselves stay the replicas until a resolution succeeds
        interval = self._resolve_interval
        for balancer in named:
            name = f"resolve-{balancer.name}"
            run = functools.partial(balancer.run, interval)
            self._resolving.append(asyncio.create_task(supervise(name, run), name=name))

    async def request(
        self,
        method: str,
        target: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Sends the call and returns its JSON, failing over to other replicas when safe.

        `idempotent` marks a call that may be sent twice (a read sent as POST for its long
        id list); by default it follows the method.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        if self._resolving is None:
            await self._start_resolving(deadline)
        balancer = self.balancers[target]
        credential = internal_auth.sign(self._keys, self._issuer, method, path)
        headers = [("Accept", "application/json"), (internal_auth.HEADER, credential)]
        request_id = request_id_var.get()
        if request_id:
            headers.append((REQUEST_ID_HEADER, request_id))
        body = None
        if json is not None:
            body = dumps_bytes(json)
            headers.append(("Content-Type", "application/json"))
        if params:
            path = f"{path}?{urlencode(params)}"
        failover = Failover(balancer, repeatable(method) if idempotent is None else idempotent)
        failure: _Failed | None = None
        while True:
            replica = failover.next()
            if replica is None or loop.time() >= deadline:
                if failure is None:
                    raise BadGateway(f"{target} timed out")
                raise failure.error from failure.cause
            replica.outstanding += 1
            try:
                return await self._attempt(
                    replica, method, path, headers, body, target, deadline - loop.time()
                )
            except _Failed as failed:
                failure = failed
                if not failover.failed(replica, failed.kind):
                    raise failed.error from failed.cause
                log.info(
                    "internal call failed over",
                    extra={"target": target, "replica": replica.base_url, "error": repr(failed)},
                )
            finally:
                replica.outstanding -= 1

    async def _attempt(
        self,
        replica: Replica,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        target: str,
        time_limit: float,
    ) -> Any:
        try:
            response = await self._client.request(
                replica.host, replica.port, method, path, headers, body, time_limit=time_limit
            )
            raw = await response.read()
        except (
            http1.ConnectFailed,
            http1.Disconnected,
            http1.ProtocolError,
            TimeoutError,
        ) as exc:
            kind = failure_of(exc)
            assert kind is not None  # every one of these is a transport failure
            raise _Failed(kind, target, exc) from exc
        Balancer.succeeded(replica)
        return _answer(target, response.status, raw)


_MESSAGES = {
    Failure.REFUSED: "{} is unreachable",
    Failure.DROPPED: "{} is unreachable",
    Failure.TIMED_OUT: "{} timed out",
    Failure.GARBLED: "{} answered something that is not HTTP",
}


class _Failed(Exception):
    """An attempt that got no usable answer: how far it went, and the error to answer."""

    def __init__(self, kind: Failure, target: str, cause: Exception) -> None:
        self.error = BadGateway(_MESSAGES[kind].format(target))
        super().__init__(str(self.error))
        self.kind = kind
        self.cause = cause


RETRY_SOON = {"Retry-After": "1"}


def _answer(target: str, status: int, raw: bytes) -> Any:
    if status == 503:
        # It asks to be tried again (its database restarting, say): so does our answer.
        raise ServiceUnavailable(f"{target} is unavailable; try again", headers=RETRY_SOON)
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
