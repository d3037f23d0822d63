"""Calls between services: failover over replicas, what is sent again, one deadline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence

import pytest

from devstack.embedded import free_port
from shared.transport.internal import InternalClient
from shared.web.errors import BadGateway, ServiceUnavailable
from tests.waiting import until


class Peer:
    """A replica on a real socket whose behaviour a test sets: it answers, drops the
    connection on reading a request, drops a kept-alive connection's second request
    unanswered (as a server closing an idle socket does), or never answers."""

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self.host = host
        self.port = port or free_port()
        self.mode = "answer"
        self.seen: list[str] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._released = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._released.clear()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)

    async def stop(self) -> None:
        """Goes away as a killed process does: no more connections, open ones closed."""
        assert self._server is not None
        self._server.close()
        self._released.set()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        served = 0
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, target, _ = head[0].split(" ")
                length = 0
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                served += 1
                self.seen.append(f"{method} {target}")
                if self.mode == "drop" or (self.mode == "drop-reused" and served > 1):
                    return
                if self.mode == "hang":
                    await self._released.wait()
                    return
                if self.mode == "busy":
                    writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                body = json.dumps({"replica": self.name}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


@pytest.fixture
async def peers() -> AsyncIterator[list[Peer]]:
    started = [Peer("one"), Peer("two")]
    for peer in started:
        await peer.start()
    try:
        yield started
    finally:
        for peer in started:
            await peer.stop()


@pytest.fixture
async def client(peers: list[Peer]) -> AsyncIterator[InternalClient]:
    internal = InternalClient({"social": [peer.url for peer in peers]}, timeout=2)
    try:
        yield internal
    finally:
        await internal.close()


async def answered_by(
    client: InternalClient, method: str = "GET", idempotent: bool | None = None
) -> str:
    body = await client.request(method, "social", "/internal/thing", idempotent=idempotent)
    return str(body["replica"])


async def test_calls_to_a_refused_replica_go_to_the_other_and_it_is_ejected() -> None:
    live = Peer("live")
    await live.start()
    dead = f"http://127.0.0.1:{free_port()}"
    client = InternalClient({"social": [dead, live.url]})
    try:
        for _ in range(6):
            assert await answered_by(client, "POST") == "live"
        refused = client.balancers["social"].replicas[0]
        assert refused.failures == 1  # ejected at the first refusal, not tried since
        assert client.balancers["social"].available() == client.balancers["social"].replicas[1:]
    finally:
        await client.close()
        await live.stop()


async def test_a_replica_that_went_away_is_readmitted_once_it_is_back(peers: list[Peer]) -> None:
    one, two = peers
    client = InternalClient({"social": [one.url, two.url]}, eject_seconds=0.1)
    try:
        await two.stop()
        for _ in range(6):
            assert await answered_by(client) == "one"
        assert client.balancers["social"].replicas[1].failures >= 1
        await two.start()

        async def two_answers() -> bool:
            return await answered_by(client) == "two"

        await until(two_answers)
        assert client.balancers["social"].replicas[1].failures == 0
    finally:
        await client.close()


async def test_a_get_whose_connection_dropped_goes_to_the_other_replica(
    peers: list[Peer], client: InternalClient
) -> None:
    one, two = peers
    one.mode = "drop"
    for _ in range(4):
        assert await answered_by(client) == "two"
    assert len(one.seen) == 1  # sent once, then ejected
    assert len(two.seen) == 4


async def test_a_post_dropped_after_it_was_sent_is_not_sent_again(
    peers: list[Peer], client: InternalClient
) -> None:
    for peer in peers:
        peer.mode = "drop"
    with pytest.raises(BadGateway, match="social is unreachable"):
        await answered_by(client, "POST")
    assert sum(len(peer.seen) for peer in peers) == 1


@pytest.mark.parametrize(
    ("idempotent", "retried"),
    [
        (None, False),  # a POST may have been processed
        (True, True),  # a read sent as POST may be sent again
    ],
)
async def test_a_kept_alive_connection_closed_before_any_answer(
    peers: list[Peer], client: InternalClient, idempotent: bool | None, retried: bool
) -> None:
    for peer in peers:
        peer.mode = "drop-reused"
    first = await answered_by(client, "POST", idempotent)  # opens a connection, kept alive
    dropping = next(peer for peer in peers if peer.name == first)
    other = next(peer for peer in peers if peer is not dropping)
    other.mode = "answer"
    # The next call that rides on the kept-alive connection to `dropping` is dropped.
    calls = 0
    while len(dropping.seen) < 2:
        calls += 1
        try:
            assert await answered_by(client, "POST", idempotent) == other.name
        except BadGateway:
            assert not retried
            break
    else:
        assert retried
    assert len(dropping.seen) == 2
    assert len(other.seen) == calls - (0 if retried else 1)


async def test_a_call_that_timed_out_is_not_sent_again(peers: list[Peer]) -> None:
    for peer in peers:
        peer.mode = "hang"
    client = InternalClient({"social": [peer.url for peer in peers]}, timeout=0.3)
    try:
        with pytest.raises(BadGateway, match="social timed out"):
            await answered_by(client)
        assert sum(len(peer.seen) for peer in peers) == 1
    finally:
        await client.close()


async def test_a_name_with_several_addresses_spreads_calls_over_them() -> None:
    port = free_port()
    replicas = [Peer("a", "127.0.0.2", port), Peer("b", "127.0.0.3", port)]
    for peer in replicas:
        await peer.start()
    looked_up: list[str] = []

    async def resolver(host: str, port: int) -> Sequence[str]:
        looked_up.append(host)
        return ["127.0.0.2", "127.0.0.3"] if host == "social.internal" else []

    client = InternalClient({"social": [f"http://social.internal:{port}"]}, resolver=resolver)
    try:
        answers = [await answered_by(client) for _ in range(10)]
        assert sorted(answers) == ["a"] * 5 + ["b"] * 5
        assert looked_up[0] == "social.internal"
    finally:
        await client.close()
        for peer in replicas:
            await peer.stop()


async def test_a_busy_service_is_a_503_to_retry_not_a_bad_gateway(
    peers: list[Peer], client: InternalClient
) -> None:
    # A callee that says "try again" (its database restarting, say) is passed on as such.
    for peer in peers:
        peer.mode = "busy"
    with pytest.raises(ServiceUnavailable) as busy:
        await client.request("POST", "social", "/internal/thing")
    assert busy.value.status == 503
    assert busy.value.headers["Retry-After"] == "1"
