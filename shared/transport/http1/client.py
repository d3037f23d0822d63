"""The client: one pool per host, requests with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from shared.transport.http1.connection import HostPool, PeerClosed
from shared.transport.http1.response import Response


class Client:
    def __init__(
        self,
        *,
        limit_per_host: int = 100,
        keepalive: float = 15.0,
        connect_timeout: float = 1.0,
        on_peer_closed: PeerClosed | None = None,
    ) -> None:
        """`on_peer_closed(host, port)` is told when a server ends an idle kept-alive
        connection before `keepalive` ran out: a sign that it is going away."""
        self._on_peer_closed = on_peer_closed
        self._limit = limit_per_host
        self._keepalive = keepalive
        self._connect_timeout = connect_timeout
        self._pools: dict[tuple[str, int], HostPool] = {}

    async def request(
        self,
        host: str,
        port: int,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None = None,
        *,
        time_limit: float,
    ) -> Response:
        """Sends one request and returns once its status and headers have arrived.

        `target` is the path and query, already encoded; `headers` must not carry Host,
        Content-Length or Transfer-Encoding, which are set here. `time_limit` (seconds)
        bounds everything: waiting for a connection, the headers and reading the body.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + time_limit
        pool = self._pools.get((host, port))
        if pool is None:
            self._forget_unused()
            pool = self._pools[(host, port)] = HostPool(
                host,
                port,
                self._limit,
                self._keepalive,
                self._connect_timeout,
                self._on_peer_closed,
            )
        connection = await pool.acquire(loop, deadline)
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {pool.authority}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in headers)
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body) if body else 0}\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode("utf-8", "surrogateescape")
        if body:
            data += body
        response = Response(connection, deadline, method == "HEAD")
        connection.send(data, response)
        try:
            while not response.status:
                if response._error is not None:
                    raise response._error
                await response._wait()
        except BaseException:
            connection.close()
            raise
        return response

    def _forget_unused(self) -> None:
        """Drops the pools that hold no connection and no waiter: replicas come and go (a
        scaled service, a rolling update), and each new address would otherwise leave an
        entry behind for the life of the process. Runs only when a new host appears."""
        for key, pool in list(self._pools.items()):
            if not pool.open and not pool.waiters:
                del self._pools[key]

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
