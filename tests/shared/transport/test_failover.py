"""The failover policy: what is sent again, to which replica, and who is ejected."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from shared.transport import http1
from shared.transport.balancer import Balancer
from shared.transport.failover import (
    Failover,
    Failure,
    failure_of,
    may_send_again,
    repeatable,
)

REFUSED, DROPPED, TIMED_OUT, GARBLED = Failure


def balancer(replicas: int) -> Balancer:
    return Balancer("social", [f"http://127.0.0.{i + 1}:8000" for i in range(replicas)])


@pytest.mark.parametrize(
    ("method", "key", "expected"),
    [
        ("GET", False, True),  # reads change nothing
        ("HEAD", False, True),
        ("OPTIONS", False, True),
        ("PUT", False, True),  # puts the same state again
        ("DELETE", False, True),  # deletes what is already gone
        ("POST", False, False),  # may create a second article
        ("POST", True, True),  # the service answers a keyed POST from its first run
        ("PATCH", False, False),
        ("PATCH", True, False),  # only POSTs honour the key
    ],
)
def test_which_requests_may_be_sent_twice(method: str, key: bool, expected: bool) -> None:
    assert repeatable(method, idempotency_key=key) is expected


@pytest.mark.parametrize(
    ("failure", "is_repeatable", "expected"),
    [
        (REFUSED, False, True),  # nothing was sent: any method
        (REFUSED, True, True),
        (DROPPED, True, True),  # it may have run, but running it twice is harmless
        (DROPPED, False, False),  # it may have run: never twice
        (TIMED_OUT, True, False),  # it may still be running, and the deadline is spent
        (TIMED_OUT, False, False),
        (GARBLED, True, False),  # a replica that speaks no HTTP says nothing safe
        (GARBLED, False, False),
    ],
)
def test_what_each_failure_allows(failure: Failure, is_repeatable: bool, expected: bool) -> None:
    assert may_send_again(failure, is_repeatable) is expected


_KEY = ConnectionKey("127.0.0.1", 8000, False, True, None, None, None)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (http1.ConnectFailed("refused"), REFUSED),
        (aiohttp.ClientConnectorError(_KEY, ConnectionRefusedError(111, "refused")), REFUSED),
        (aiohttp.ConnectionTimeoutError(), REFUSED),  # a TimeoutError, yet nothing was sent
        (http1.Disconnected("closed", reused=True), DROPPED),
        (aiohttp.ServerDisconnectedError(), DROPPED),
        (ConnectionResetError(104, "reset"), DROPPED),
        (asyncio.IncompleteReadError(b"HTTP/1.1 1", 100), DROPPED),
        (TimeoutError(), TIMED_OUT),
        (http1.ProtocolError("not HTTP"), GARBLED),
        (asyncio.LimitOverrunError("too long", 10), GARBLED),
        (ValueError("a bug of ours"), None),  # not the replica's doing: nothing ejected
    ],
)
def test_transport_errors_are_sorted_by_how_far_the_attempt_went(
    exc: BaseException, expected: Failure | None
) -> None:
    assert failure_of(exc) is expected


def test_a_refused_call_goes_to_every_replica_in_turn_each_ejected() -> None:
    failover = Failover(balancer(3), repeatable=False)
    seen = []
    while (replica := failover.next()) is not None:
        seen.append(replica)
        if not failover.failed(replica, REFUSED):
            break
    assert len(set(seen)) == 3  # never the same replica twice
    assert all(replica.failures == 1 for replica in seen)


def test_a_dropped_repeatable_call_is_sent_again_once() -> None:
    failover = Failover(balancer(3), repeatable=True)
    first = failover.next()
    assert first is not None
    assert failover.failed(first, DROPPED)
    second = failover.next()
    assert second is not None and second is not first
    assert not failover.failed(second, DROPPED)  # a second drop ends the call
    assert first.failures == second.failures == 1


def test_the_only_replica_gets_a_dropped_call_again_on_a_fresh_socket() -> None:
    failover = Failover(balancer(1), repeatable=True)
    only = failover.next()
    assert only is not None
    assert failover.failed(only, DROPPED)
    assert failover.next() is only


def test_the_only_replica_refused_ends_the_call() -> None:
    failover = Failover(balancer(1), repeatable=True)
    only = failover.next()
    assert only is not None
    assert not failover.failed(only, REFUSED)
    assert failover.next() is None


@pytest.mark.parametrize(
    ("failure", "is_repeatable"),
    [
        (DROPPED, False),  # a POST without a key
        (TIMED_OUT, True),
        (GARBLED, True),
    ],
)
def test_a_failure_that_ends_the_call_still_ejects_the_replica(
    failure: Failure, is_repeatable: bool
) -> None:
    replicas = balancer(2)
    failover = Failover(replicas, is_repeatable)
    replica = failover.next()
    assert replica is not None
    assert not failover.failed(replica, failure)
    assert replicas.available() == [r for r in replicas.replicas if r is not replica]
