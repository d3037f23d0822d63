"""gateway/ratelimit.py: rate limits per IP and per user, shared by gateway replicas, off at zero,
open when Redis is down."""

from __future__ import annotations

import re
from pathlib import Path

from devstack.embedded import start_valkey
from tests.gateway.conftest import Echo, GatewayFactory


async def test_the_anonymous_limit_is_shared_by_two_gateway_replicas(
    make_gateway: GatewayFactory,
) -> None:
    first = await make_gateway(RATE_LIMIT_ANON="5")
    second = await make_gateway(RATE_LIMIT_ANON="5")
    statuses = []
    for index in range(6):
        response = await (first if index % 2 == 0 else second).get("/api/tags")
        statuses.append(response.status)
    assert statuses == [200] * 5 + [429]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Limit"] == "5"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert (await response.json())["errors"]["body"] == ["rate limit exceeded; slow down"]


async def test_users_are_limited_per_user_not_per_ip(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    gateway = await make_gateway(RATE_LIMIT_ANON="1", RATE_LIMIT_USER="3")
    keys = echoes["auth"].keys
    jake = {"Authorization": f"Token {keys.issue(1, 'jake', 's').token}"}
    anna = {"Authorization": f"Token {keys.issue(2, 'anna', 's').token}"}
    jakes = [(await gateway.get("/api/tags", headers=jake)).status for _ in range(4)]
    annas = [(await gateway.get("/api/tags", headers=anna)).status for _ in range(3)]
    assert jakes == [200, 200, 200, 429]
    assert annas == [200, 200, 200]


async def test_a_limit_of_zero_turns_it_off(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(RATE_LIMIT_ANON="0")
    response = await gateway.get("/api/tags")
    assert response.status == 200
    assert "RateLimit-Limit" not in response.headers


async def test_requests_pass_when_redis_is_down(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    server, url = start_valkey(tmp_path / "valkey", persist=False)
    gateway = await make_gateway(REDIS_URL=url, RATE_LIMIT_ANON="1")
    server.stop()
    statuses = [(await gateway.get("/api/tags")).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    metrics = await (await gateway.get("/metrics")).text()
    failures = re.search(r"^rate_limit_backend_failures_total (\S+)$", metrics, re.MULTILINE)
    # Each refused check counts; the background flush may fail (and count) meanwhile too.
    assert failures is not None and float(failures.group(1)) >= 3
