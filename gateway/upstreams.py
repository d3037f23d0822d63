"""The replicas of each service: resolved by the gateway itself, balanced, ejected and probed.

aiohttp's connector would pin keep-alive connections to whichever address its DNS cache
returned first, so the gateway resolves every address of a service name itself, balances
each request over that explicit list (least outstanding requests, round robin among equals),
and connects by IP.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Replica:
    base_url: str  # http://ip:port
    outstanding: int = 0
    ejected_until: float = 0.0
    consecutive_failures: int = 0
    host: str = field(init=False)
    port: int = field(init=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        self.host, self.port = parts.hostname or "", parts.port or 80

    def available(self, now: float) -> bool:
        return self.ejected_until <= now


@dataclass
class Upstream:
    name: str
    targets: tuple[str, ...]  # configured URLs: literal addresses or host names
    eject_seconds: float
    replicas: list[Replica] = field(default_factory=list)
    _cursor: int = 0

    def __post_init__(self) -> None:
        # Until the first resolution, the configured URLs themselves are the replicas.
        self.replicas = [Replica(url) for url in self.targets]

    async def resolve(self) -> None:
        """Re-reads every address of every target name; keeps the state of known replicas."""
        loop = asyncio.get_running_loop()
        found: list[str] = []
        for target in self.targets:
            parts = urlsplit(target)
            host, port = parts.hostname or "", parts.port or 80
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                log.warning(
                    "upstream not resolved", extra={"upstream": self.name, "error": str(exc)}
                )
                continue
            ipv4 = [str(info[4][0]) for info in infos if info[0] == socket.AF_INET]
            addresses = ipv4 or [str(info[4][0]) for info in infos]
            for address in dict.fromkeys(addresses):
                shown = f"[{address}]" if ":" in address else address
                found.append(f"http://{shown}:{port}")
        if not found:
            return  # keep the last known list rather than none
        known = {replica.base_url: replica for replica in self.replicas}
        self.replicas = [known.get(url) or Replica(url) for url in dict.fromkeys(found)]

    def pick(self, exclude: set[Replica] | None = None) -> Replica | None:
        """The available replica with the fewest requests in flight; None if all are out."""
        now = time.monotonic()
        candidates = [
            r for r in self.replicas if r.available(now) and (not exclude or r not in exclude)
        ]
        if not candidates:
            # Every replica is ejected: probe the one whose ejection ends first rather than
            # failing outright; if it answers, it is back.
            rest = [r for r in self.replicas if not exclude or r not in exclude]
            return min(rest, key=lambda r: r.ejected_until) if rest else None
        count = len(candidates)
        self._cursor = (self._cursor + 1) % count
        best = candidates[self._cursor]
        for offset in range(1, count):
            other = candidates[(self._cursor + offset) % count]
            if other.outstanding < best.outstanding:
                best = other
        return best

    def eject(self, replica: Replica) -> None:
        replica.consecutive_failures += 1
        # Back-off doubles for a replica that keeps failing its probes, up to 8x.
        factor = min(2 ** (replica.consecutive_failures - 1), 8)
        replica.ejected_until = time.monotonic() + self.eject_seconds * factor
        log.warning("replica ejected", extra={"upstream": self.name, "replica": replica.base_url})

    @staticmethod
    def succeeded(replica: Replica) -> None:
        if replica.consecutive_failures:
            replica.consecutive_failures = 0
            replica.ejected_until = 0.0
