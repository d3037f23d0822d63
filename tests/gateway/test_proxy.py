"""gateway/proxy.py: balancing over replicas, which failures are retried, and what travels with a
request."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from devstack import stack
from devstack.embedded import free_port
from tests.factories import FAST_HASHING
from tests.gateway.conftest import Echo, GatewayFactory, url_of
from tests.gateway.helpers import bearer
from tests.infra import Infra
from tests.typing import AppClient


@pytest.fixture
def two_auth_replicas(infra: Infra) -> Iterator[list[tuple[subprocess.Popen[bytes], int]]]:
    ports = [free_port(), free_port()]
    processes = []
    for port in ports:
        spec = stack.ProcessSpec(
            f"auth-{port}", "auth_service", port, infra.env(AUTH_PORT=str(port), **FAST_HASHING)
        )
        processes.append(stack.start(spec))
    try:
        for process, port in zip(processes, ports, strict=True):
            stack.wait_ready(f"http://127.0.0.1:{port}/health/ready", 30, process)
        yield list(zip(processes, ports, strict=True))
    finally:
        stack.stop(processes)


class Dropper:
    """A replica that reads each request and closes the connection without a byte back."""

    def __init__(self) -> None:
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
        writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def dropper() -> AsyncIterator[Dropper]:
    replica = Dropper()
    replica.server = await asyncio.start_server(replica.serve, "127.0.0.1", 0)
    try:
        yield replica
    finally:
        replica.server.close()
        await replica.server.wait_closed()


async def posts_until_dropped(
    gateway: AppClient, dropper: Dropper, headers: Callable[[int], dict[str, str]]
) -> list[int]:
    """POSTs until one has gone to the dropping replica (turns alternate: within two)."""
    statuses = []
    for attempt in range(4):
        response = await gateway.post(
            "/api/articles", json={"article": {}}, headers=headers(attempt)
        )
        statuses.append(response.status)
        if dropper.requests:
            break
    assert dropper.requests == 1
    return statuses


async def test_requests_spread_over_every_replica(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    second = Echo("posts-2", echoes["posts"].keys)
    app = web.Application(client_max_size=16 * 1024**2)
    app.router.add_route("*", "/{tail:.*}", second.handle)
    second.server = TestServer(app)
    await second.server.start_server()
    try:
        gateway = await make_gateway(POSTS_URL=f"{url_of(echoes['posts'])},{url_of(second)}")
        for _ in range(20):
            assert (await gateway.get("/api/tags")).status == 200
        assert len(echoes["posts"].seen) == 10 and len(second.seen) == 10
    finally:
        await second.server.close()


async def test_a_refused_post_is_retried_on_another_replica(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    gateway = await make_gateway(AUTH_URL=f"{dead},{url_of(echoes['auth'])}")
    for _ in range(4):
        response = await gateway.post("/api/users", json={"user": {}})
        assert response.status == 200
    assert len(echoes["auth"].seen) == 4
    metrics = await (await gateway.get("/metrics")).text()
    assert 'upstream_retries_total{upstream="auth"} 1.0' in metrics
    assert 'upstream_ejections_total{upstream="auth"} 1.0' in metrics


async def test_a_post_that_timed_out_after_sending_is_not_retried(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    second = Echo("posts-2", echoes["posts"].keys, slow_seconds=2)
    echoes["posts"].slow_seconds = 2
    app = web.Application(client_max_size=16 * 1024**2)
    app.router.add_route("*", "/{tail:.*}", second.handle)
    second.server = TestServer(app)
    await second.server.start_server()
    try:
        gateway = await make_gateway(
            POSTS_URL=f"{url_of(echoes['posts'])},{url_of(second)}", UPSTREAM_TIMEOUT="0.3"
        )
        token = echoes["auth"].keys.issue(7, "jake", "s").token
        response = await gateway.post(
            "/api/articles/slow", json={"article": {}}, headers={"Authorization": f"Token {token}"}
        )
        assert response.status == 504
        assert (await response.json())["errors"]["body"] == ["posts did not answer in time"]
        assert len(echoes["posts"].seen) + len(second.seen) == 1
    finally:
        await second.server.close()


async def test_all_replicas_down_is_502_in_the_error_format(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(SOCIAL_URL=f"http://127.0.0.1:{free_port()}")
    response = await gateway.get("/api/profiles/anna")
    assert response.status == 502
    assert (await response.json())["errors"]["body"] == ["social is unreachable"]


async def test_stopping_a_replica_during_a_stream_loses_no_idempotent_request(
    make_gateway: GatewayFactory, two_auth_replicas: list[tuple[subprocess.Popen[bytes], int]]
) -> None:
    urls = ",".join(f"http://127.0.0.1:{port}" for _, port in two_auth_replicas)
    gateway: AppClient = await make_gateway(AUTH_URL=urls, RATE_LIMIT_ANON="0")
    statuses: list[int] = []

    async def client_loop() -> None:
        for _ in range(60):
            response = await gateway.get("/api/users")
            statuses.append(response.status)
            await response.read()

    async def stop_one() -> None:
        await asyncio.sleep(0.3)
        two_auth_replicas[0][0].send_signal(signal.SIGTERM)

    await asyncio.gather(*(client_loop() for _ in range(4)), stop_one())
    assert two_auth_replicas[0][0].wait(10) == 0  # it stopped gracefully
    assert len(statuses) == 240
    assert set(statuses) == {200}


async def test_a_keyed_post_whose_connection_dropped_is_retried_on_another_replica(
    make_gateway: GatewayFactory, echoes: dict[str, Echo], dropper: Dropper
) -> None:
    gateway = await make_gateway(POSTS_URL=f"{dropper.url},{url_of(echoes['posts'])}")
    token = echoes["auth"].keys.issue(7, "jake", "s").token

    def keyed(attempt: int) -> dict[str, str]:
        return {"Authorization": f"Token {token}", "Idempotency-Key": f"soup-{attempt}"}

    statuses = await posts_until_dropped(gateway, dropper, keyed)
    assert set(statuses) == {200}
    # The one that went to the dropping replica first reached the other with its key.
    assert [seen["headers"]["Idempotency-Key"] for seen in echoes["posts"].seen] == [
        f"soup-{attempt}" for attempt in range(len(statuses))
    ]


async def test_a_post_without_a_key_whose_connection_dropped_is_not_sent_again(
    make_gateway: GatewayFactory, echoes: dict[str, Echo], dropper: Dropper
) -> None:
    gateway = await make_gateway(POSTS_URL=f"{dropper.url},{url_of(echoes['posts'])}")
    token = echoes["auth"].keys.issue(7, "jake", "s").token
    statuses = await posts_until_dropped(
        gateway, dropper, lambda attempt: {"Authorization": f"Token {token}"}
    )
    # It may have been processed: the client is told, and decides.
    assert statuses[-1] == 502
    assert len(echoes["posts"].seen) == len(statuses) - 1


async def test_a_replica_answering_connection_close_gets_no_new_requests(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    closing = Echo("posts-2", echoes["posts"].keys)

    async def going_away(request: web.Request) -> web.StreamResponse:
        response = await closing.handle(request)
        response.force_close()  # what a replica that is shutting down answers
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", going_away)
    closing.server = TestServer(app)
    await closing.server.start_server()
    try:
        gateway = await make_gateway(POSTS_URL=f"{url_of(echoes['posts'])},{url_of(closing)}")
        for _ in range(6):
            assert (await gateway.get("/api/tags")).status == 200
        assert len(closing.seen) == 1
        assert len(echoes["posts"].seen) == 5
    finally:
        await closing.server.close()


async def test_the_path_travels_as_the_client_encoded_it(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    # Decoded and re-encoded, "%2F" would become "/" and the dots a way out of /api.
    path = "/api/articles/..%2F..%2Finternal%2Fsummary?q=a%20b"
    assert (await gateway.get(path)).status == 200
    assert echoes["posts"].seen[-1]["raw_path"] == path


async def test_client_sent_identity_headers_are_replaced(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    spoofed = {
        "X-User-Id": "1",
        "X-Username": "admin",
        "X-User-Role": "admin",
        "X-Client-IP": "10.0.0.1",
    }
    anonymous = await (await gateway.get("/api/articles", headers=spoofed)).json()
    assert "X-User-Id" not in anonymous["headers"] and "X-Username" not in anonymous["headers"]
    assert "X-User-Role" not in anonymous["headers"]
    assert anonymous["headers"]["X-Client-IP"] == "127.0.0.1"
    signed_in = await (
        await gateway.get("/api/articles", headers={**spoofed, **bearer(echoes, 7, "jake")})
    ).json()
    assert signed_in["headers"]["X-User-Id"] == "7"
    assert signed_in["headers"]["X-Username"] == "jake"
    assert signed_in["headers"]["X-User-Role"] == "user"  # the token's, not the client's


async def test_forwarding_headers_and_request_id_are_set(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    response = await gateway.get("/api/tags", headers={"X-Request-ID": "trace-42"})
    received = (await response.json())["headers"]
    assert received["X-Request-ID"] == "trace-42"
    assert received["X-Forwarded-For"] == "127.0.0.1"
    assert received["X-Forwarded-Proto"] == "http"
    assert received["X-Forwarded-Host"].startswith("127.0.0.1")
    assert response.headers["X-Request-ID"] == "trace-42"


async def test_hop_by_hop_headers_do_not_travel(gateway: AppClient) -> None:
    response = await gateway.get(
        "/api/tags",
        headers={"Connection": "keep-alive, X-Secret", "X-Secret": "1", "TE": "trailers"},
    )
    received = (await response.json())["headers"]
    assert "X-Secret" not in received and "TE" not in received


async def test_server_timing_splits_gateway_and_upstream_time(gateway: AppClient) -> None:
    response = await gateway.get("/api/tags")
    timing = response.headers["Server-Timing"]
    assert timing.startswith("gateway;dur=") and ", upstream;dur=" in timing


async def test_large_responses_stream_through_intact(gateway: AppClient) -> None:
    response = await gateway.get("/api/media/big")
    assert response.status == 200
    assert await response.read() == b"x" * 1_000_000
