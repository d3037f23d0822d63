"""The gateway's upstreams: one balancer per service, kept resolved while the gateway runs.

Balancing, ejection and resolution are shared/transport/balancer.py's, the same as in
calls between services; `Upstream` is the name the gateway's modules give a service's one.
"""

from __future__ import annotations

import asyncio

from gateway.settings import GatewaySettings
from shared.transport.balancer import Balancer, Replica, Resolver

Upstream = Balancer

__all__ = ["Replica", "Resolver", "Upstream", "resolve_forever", "upstreams_of"]


def upstreams_of(
    settings: GatewaySettings, resolver: Resolver | None = None
) -> dict[str, Upstream]:
    return {
        name: Balancer(name, targets, eject_seconds=settings.eject_seconds, resolver=resolver)
        for name, targets in settings.upstreams.items()
    }


async def resolve_all(upstreams: dict[str, Upstream]) -> None:
    await asyncio.gather(*(upstream.resolve() for upstream in upstreams.values()))


async def resolve_forever(upstreams: dict[str, Upstream], interval: float) -> None:
    """Re-resolves every service's names so that replicas added or removed are noticed."""
    while True:
        await asyncio.sleep(interval)
        await resolve_all(upstreams)
