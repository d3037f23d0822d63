"""The gateway's readiness: ready while every service has a healthy replica."""

from __future__ import annotations

from devstack.embedded import free_port
from tests.gateway.conftest import Echo, GatewayFactory, url_of


async def test_one_dead_replica_of_two_leaves_the_gateway_ready_and_is_named(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    gateway = await make_gateway(POSTS_URL=f"{url_of(echoes['posts'])},{dead}")
    # Several times: a balancer that picks one replica per probe would find the dead one.
    for _ in range(4):
        response = await gateway.get("/health/ready")
        body = await response.json()
        assert response.status == 200, body
        assert body["checks"]["posts"] == "ok"
        assert body["replicas"]["posts"][url_of(echoes["posts"])] == "ok"
        assert body["replicas"]["posts"][dead].startswith("unavailable")


async def test_a_service_with_every_replica_down_makes_the_gateway_unready(
    make_gateway: GatewayFactory,
) -> None:
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    gateway = await make_gateway(SOCIAL_URL=",".join(dead))
    response = await gateway.get("/health/ready")
    assert response.status == 503
    assert (await response.json())["checks"]["social"].startswith("unavailable")
