"""gateway/upstreams.py: the replicas of a service are every address its name resolves to, kept
current."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from devstack.embedded import free_port
from gateway.app import create_app
from gateway.keys import PROXY
from gateway.settings import GatewaySettings
from shared.settings import Env
from shared.transport.balancer import Balancer
from tests.gateway.conftest import Echo, url_of
from tests.infra import Infra
from tests.waiting import until

NAME = "posts.replicas.test"
ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
Client = TestClient[web.Request, web.Application]


class Replicas:
    """Echo servers on one port of several addresses, and what the name resolves to."""

    def __init__(self, template: Echo) -> None:
        self.port = free_port()
        self.echoes = {address: Echo(address, template.keys) for address in ADDRESSES}
        self.resolved = list(ADDRESSES)

    async def start(self, address: str) -> None:
        echo = self.echoes[address]
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", echo.handle)
        echo.server = TestServer(app, host=address, port=self.port)
        await echo.server.start_server()

    async def stop(self, address: str) -> None:
        server = self.echoes[address].server
        assert server is not None
        await server.close()

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        if host != NAME:
            raise OSError(f"unknown name {host}")
        return list(self.resolved)

    def counts(self) -> dict[str, int]:
        counts = {address: len(echo.seen) for address, echo in self.echoes.items()}
        for echo in self.echoes.values():
            echo.seen.clear()
        return counts


@pytest.fixture
async def replicas(echoes: dict[str, Echo]) -> AsyncIterator[Replicas]:
    started = Replicas(echoes["posts"])
    for address in ADDRESSES:
        await started.start(address)
    try:
        yield started
    finally:
        for echo in started.echoes.values():
            if echo.server is not None:
                await echo.server.close()


@pytest.fixture
async def gateway(
    infra: Infra,
    echoes: dict[str, Echo],
    replicas: Replicas,
    aiohttp_client: Callable[..., Any],
) -> Client:
    env = infra.env(**{f"{name.upper()}_URL": url_of(echo) for name, echo in echoes.items()})
    env.update(
        POSTS_URL=f"http://{NAME}:{replicas.port}",
        UPSTREAM_RESOLVE_INTERVAL="0.1",
        UPSTREAM_EJECT_SECONDS="0.2",
        RATE_LIMIT_ANON="0",
    )
    app = create_app(GatewaySettings.from_env(Env(env)), resolver=replicas.resolve)
    return await aiohttp_client(app)  # type: ignore[no-any-return]


def posts_balancer(gateway: Client) -> Balancer:
    assert gateway.app is not None
    return gateway.app[PROXY].upstreams["posts"]


async def get_all(gateway: Client, count: int) -> list[int]:
    statuses = []
    for _ in range(count):
        response = await gateway.get("/api/tags")
        await response.read()
        statuses.append(response.status)
    return statuses


async def test_requests_spread_over_every_address_of_the_name(
    gateway: Client, replicas: Replicas
) -> None:
    assert await get_all(gateway, 30) == [200] * 30
    assert replicas.counts() == {address: 10 for address in ADDRESSES}


async def test_an_address_no_longer_resolved_gets_no_more_requests(
    gateway: Client, replicas: Replicas
) -> None:
    replicas.resolved.remove("127.0.0.3")
    await until(lambda: len(posts_balancer(gateway).replicas) == 2)
    assert await get_all(gateway, 20) == [200] * 20
    assert replicas.counts() == {"127.0.0.2": 10, "127.0.0.3": 0, "127.0.0.4": 10}


async def test_an_address_added_to_the_name_gets_requests(
    gateway: Client, replicas: Replicas
) -> None:
    replicas.resolved.remove("127.0.0.4")
    await until(lambda: len(posts_balancer(gateway).replicas) == 2)
    replicas.resolved.append("127.0.0.4")
    await until(lambda: len(posts_balancer(gateway).replicas) == 3)
    assert await get_all(gateway, 30) == [200] * 30
    assert replicas.counts() == {address: 10 for address in ADDRESSES}


async def test_a_stopped_replica_still_resolved_is_ejected_then_readmitted_when_back(
    gateway: Client, replicas: Replicas
) -> None:
    await replicas.stop("127.0.0.4")
    assert await get_all(gateway, 20) == [200] * 20  # none lost: refused, then sent elsewhere
    counts = replicas.counts()
    assert counts["127.0.0.4"] == 0 and counts["127.0.0.2"] + counts["127.0.0.3"] == 20
    stopped = next(r for r in posts_balancer(gateway).replicas if r.host == "127.0.0.4")
    assert stopped.failures >= 1
    await replicas.start("127.0.0.4")

    async def back() -> bool:
        await get_all(gateway, 3)
        return len(replicas.echoes["127.0.0.4"].seen) > 0

    await until(back)
    assert stopped.failures == 0
