"""Calls to other services' internal routes: balanced over replicas, failed over, one deadline."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from shared.logs import request_id_var
from shared.service.tasks import stop_task, supervise
from shared.settings import ENVIRONMENTS, Env, InternalKeys
from shared.transport import http1
from shared.transport.balancer import Balancer, Replica, Resolver
from shared.transport.jsoncodec import dumps_bytes, loads
from shared.web import internal_auth
from shared.web.errors import ApiError, BadGateway, ServiceUnavailable
from shared.web.middleware import REQUEST_ID_HEADER

log = logging.getLogger(__name__)

# Shorter than aiohttp's server keep-alive (75 s): this side closes an idle socket first.
KEEPALIVE = 15.0
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class InternalClient:
    """One client for all internal calls of a service; balances over each target's replicas.

    A failed attempt ejects its replica, and the call goes on to another one (never the
    same while another is left) when sending it again is safe: after a refused connection
    always; for a GET whatever the failure short of the deadline; for another idempotent
    call when a kept-alive connection closed before any answer (the server was closing it).
    Every attempt shares the call's one deadline (`timeout`). Each call carries the
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
        replayable = method in IDEMPOTENT if idempotent is None else idempotent
        tried: list[Replica] = []
        failure: _Failed | None = None
        while True:
            replica = balancer.pick(tried)
            if replica is None and len(tried) == 1:
                replica = tried[0]  # the only replica: once more, on another connection
            if replica is None or loop.time() >= deadline:
                if failure is None:
                    raise BadGateway(f"{target} timed out")
                raise failure.error from failure.cause
            tried.append(replica)
            replica.outstanding += 1
            try:
                return await self._attempt(
                    replica, method, path, headers, body, target, deadline - loop.time()
                )
            except _Failed as failed:
                failure = failed
                balancer.eject(replica)
                if not _may_retry(method, replayable, failure):
                    raise failure.error from failure.cause
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
        answered = False
        try:
            response = await self._client.request(
                replica.host, replica.port, method, path, headers, body, time_limit=time_limit
            )
            answered = True  # the status line and headers have arrived
            raw = await response.read()
        except http1.ConnectFailed as exc:
            raise _Failed(BadGateway(f"{target} is unreachable"), exc, answered) from exc
        except http1.Disconnected as exc:
            raise _Failed(BadGateway(f"{target} is unreachable"), exc, answered) from exc
        except TimeoutError as exc:
            raise _Failed(BadGateway(f"{target} timed out"), exc, answered) from exc
        except http1.ProtocolError as exc:
            error = BadGateway(f"{target} answered something that is not HTTP")
            raise _Failed(error, exc, answered) from exc
        Balancer.succeeded(replica)
        return _answer(target, response.status, raw)


class _Failed(Exception):
    """An attempt that got no usable answer, and what is known of how far it went."""

    def __init__(self, error: BadGateway, cause: Exception, answered: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.cause = cause
        self.answered = answered  # some of the answer had arrived


def _may_retry(method: str, replayable: bool, failure: _Failed) -> bool:
    cause = failure.cause
    if isinstance(cause, TimeoutError):
        return False  # the call's deadline is spent
    if isinstance(cause, http1.ConnectFailed):
        return True  # nothing was sent
    if method == "GET":
        return True  # a read: sending it again changes nothing
    # The race of reusing a kept-alive socket that the server was closing: it closed before
    # answering anything, most likely before reading the request.
    return (
        replayable
        and isinstance(cause, http1.Disconnected)
        and cause.reused
        and not failure.answered
    )


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
