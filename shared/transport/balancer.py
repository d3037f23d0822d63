"""The replicas of one service: resolved, balanced, ejected when they fail and re-admitted.

The gateway and every service that calls another (`InternalClient`) go through this. A
target is a comma-separated list of URLs, each a literal address or a host name whose every
address is a replica (a compose service scaled to three answers with three addresses).
Names are resolved here and re-resolved periodically, and requests connect by IP: a
connection pool keyed by name would pin its keep-alive sockets to whichever address the
resolver returned first, and a replica added or removed would go unnoticed.

Each request goes to the available replica with the fewest requests in flight, ties taken
in turn. A replica whose attempt failed is ejected for a while that doubles with each
failure in a row (up to 8x), then re-admitted: the next request it gets is its probe, and
one success clears its record. When every replica is ejected, the one whose ejection ends
first is tried anyway rather than failing outright.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Container, Sequence
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# host, port -> the addresses of every replica behind the name
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

RESOLVE_TIMEOUT = 2.0
MAX_EJECT_FACTOR = 8
_NOTHING: tuple[()] = ()


async def resolve_system(host: str, port: int) -> list[str]:
    """Every address of `host` from the system resolver, IPv4 first if it has any."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(RESOLVE_TIMEOUT):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    ipv4 = [str(info[4][0]) for info in infos if info[0] == socket.AF_INET]
    return list(dict.fromkeys(ipv4 or [str(info[4][0]) for info in infos]))


class Replica:
    """One address of a service and what the balancer knows of it."""

    # Slots: the hot path reads these on every request of the gateway.
    __slots__ = ("base_url", "ejected_until", "failures", "host", "outstanding", "port")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{port}"
        self.outstanding = 0  # requests in flight
        self.ejected_until = 0.0  # monotonic time
        self.failures = 0  # in a row

    def __repr__(self) -> str:
        return f"Replica({self.base_url}, outstanding={self.outstanding})"


class Balancer:
    """The replicas behind one target (a service's configured URLs)."""

    def __init__(
        self,
        name: str,
        targets: Sequence[str],
        *,
        eject_seconds: float = 10.0,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not targets:
            raise ValueError(f"{name}: no URL to reach it")
        self.name = name
        self.eject_seconds = eject_seconds
        self._resolver = resolver or resolve_system
        self._clock = clock
        self._targets: list[tuple[str, int]] = [_host_port(url) for url in targets]
        # Names to look up; literal addresses are replicas as they are.
        self.names = [(host, port) for host, port in self._targets if not _is_address(host)]
        self._found: dict[tuple[str, int], list[str]] = {}
        self._cursor = 0
        self.resolved = not self.names
        # Until the first resolution, the configured hosts themselves are the replicas.
        self.replicas: list[Replica] = [Replica(host, port) for host, port in self._targets]

    async def resolve(self) -> None:
        """Looks every name up again; known replicas keep their state, gone ones are dropped.

        A name that cannot be resolved right now keeps its last known addresses: a resolver
        hiccup must not empty the list of a service that is still there.
        """
        if not self.names:
            return
        for host, port in self.names:
            try:
                self._found[(host, port)] = list(await self._resolver(host, port))
            except (OSError, TimeoutError) as exc:
                log.warning(
                    "replicas not resolved",
                    extra={"upstream": self.name, "host": host, "error": repr(exc)},
                )
        known = {(r.host, r.port): r for r in self.replicas}
        replicas: dict[tuple[str, int], Replica] = {}
        for host, port in self._targets:
            addresses = self._found.get((host, port)) if not _is_address(host) else [host]
            for address in addresses or ():
                key = (address, port)
                if key not in replicas:
                    replicas[key] = known.get(key) or Replica(address, port)
        if not replicas:
            return  # nothing resolved yet: keep the names themselves
        if set(replicas) != set(known):
            log.info(
                "replicas changed",
                extra={"upstream": self.name, "replicas": [r.base_url for r in replicas.values()]},
            )
        self.replicas = list(replicas.values())
        self.resolved = True

    async def run(self, interval: float) -> None:
        """Re-resolves every `interval` seconds, forever (returns at once for literal addresses)."""
        if not self.names:
            return
        while True:
            await asyncio.sleep(interval)
            await self.resolve()

    def pick(self, tried: Container[Replica] = _NOTHING) -> Replica | None:
        """The available replica with the fewest requests in flight, not one of `tried`;
        the one whose ejection ends first if all are ejected; None once all were tried.

        On every proxied request of the gateway: one pass, no list built, no sort.
        """
        replicas = self.replicas
        count = len(replicas)
        if count == 1:
            only = replicas[0]
            return None if only in tried else only
        now = self._clock()
        # The scan starts one further each time, so that among equals each gets its turn.
        start = self._cursor = (self._cursor + 1) % count
        best: Replica | None = None
        soonest: Replica | None = None
        for index in range(start, start + count):
            replica = replicas[index - count if index >= count else index]
            if replica in tried:
                continue
            if replica.ejected_until > now:
                if soonest is None or replica.ejected_until < soonest.ejected_until:
                    soonest = replica
            elif best is None or replica.outstanding < best.outstanding:
                best = replica
        return best or soonest

    def eject(self, replica: Replica) -> None:
        """Takes a replica that failed out of the rotation for a while."""
        replica.failures += 1
        factor = min(2 ** (replica.failures - 1), MAX_EJECT_FACTOR)
        replica.ejected_until = self._clock() + self.eject_seconds * factor
        log.warning(
            "replica ejected",
            extra={
                "upstream": self.name,
                "replica": replica.base_url,
                "seconds": self.eject_seconds * factor,
            },
        )

    def going_away(self, host: str, port: int) -> bool:
        """Ejects the replica at host:port on a sign that it is going away (it ended an idle
        connection), unless it is ejected already: many connections tell the same once.
        Whether it was ejected now."""
        now = self._clock()
        for replica in self.replicas:
            if replica.host == host and replica.port == port:
                if replica.ejected_until > now:
                    return False
                self.eject(replica)
                return True
        return False

    @staticmethod
    def succeeded(replica: Replica) -> None:
        """A replica that answered is fully back, whatever its record."""
        if replica.failures:
            replica.failures = 0
            replica.ejected_until = 0.0

    def available(self) -> list[Replica]:
        """The replicas not ejected now (for readiness and tests, not the hot path)."""
        now = self._clock()
        return [r for r in self.replicas if r.ejected_until <= now]


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"replicas are reached by http:// URLs, got {url!r}")
    return parts.hostname, parts.port or 80


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
