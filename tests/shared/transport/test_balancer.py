"""The replica balancer: choice, ejection and re-admission, resolution of names."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from shared.transport.balancer import Balancer, Replica, resolve_system


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Names:
    """A resolver whose answers a test changes, and which counts its look-ups."""

    def __init__(self, **names: list[str]) -> None:
        self.names = names
        self.lookups: list[str] = []
        self.failing = False

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        if self.failing:
            raise OSError("temporary failure in name resolution")
        return self.names[host]


def urls(balancer: Balancer) -> list[str]:
    return [replica.base_url for replica in balancer.replicas]


def picks(balancer: Balancer, count: int) -> list[str]:
    chosen = []
    for _ in range(count):
        replica = balancer.pick()
        assert replica is not None
        chosen.append(replica.base_url)
    return chosen


A, B, C = "http://10.0.0.1:80", "http://10.0.0.2:80", "http://10.0.0.3:80"


def test_equally_busy_replicas_are_chosen_in_turn() -> None:
    balancer = Balancer("posts", [A, B, C])
    assert sorted(picks(balancer, 6)) == sorted([A, B, C] * 2)
    assert len(set(picks(balancer, 3))) == 3


def test_the_replica_with_fewest_requests_in_flight_is_chosen() -> None:
    balancer = Balancer("posts", [A, B, C])
    first, second, third = balancer.replicas
    first.outstanding, second.outstanding, third.outstanding = 3, 1, 2
    assert picks(balancer, 3) == [B, B, B]


def test_a_retry_never_goes_to_a_replica_already_tried_while_another_is_left() -> None:
    balancer = Balancer("posts", [A, B, C])
    tried: list[Replica] = []
    for _ in range(3):
        replica = balancer.pick(tried)
        assert replica is not None and replica not in tried
        tried.append(replica)
    assert balancer.pick(tried) is None


def test_the_only_replica_is_chosen_even_when_ejected() -> None:
    balancer = Balancer("posts", [A])
    only = balancer.replicas[0]
    balancer.eject(only)
    assert balancer.pick() is only
    assert balancer.pick([only]) is None


def test_an_ejected_replica_is_left_out_until_its_time_is_over_then_readmitted() -> None:
    clock = Clock()
    balancer = Balancer("posts", [A, B], eject_seconds=10, clock=clock)
    first, _ = balancer.replicas
    balancer.eject(first)
    assert picks(balancer, 4) == [B] * 4
    clock.now += 10
    assert A in picks(balancer, 2)


def test_a_replica_going_away_is_ejected_once_however_many_connections_tell() -> None:
    clock = Clock()
    balancer = Balancer("posts", [A, B], eject_seconds=10, clock=clock)
    first, _ = balancer.replicas
    assert balancer.going_away("10.0.0.1", 80) is True
    assert balancer.going_away("10.0.0.1", 80) is False  # a second idle connection of it
    assert (first.failures, first.ejected_until) == (1, clock.now + 10)
    assert picks(balancer, 3) == [B] * 3
    assert balancer.going_away("10.0.0.9", 80) is False  # not a replica (any more)
    assert balancer.going_away("10.0.0.2", 8080) is False
    clock.now += 10
    assert balancer.going_away("10.0.0.1", 80) is True  # going away again, once back


def test_ejection_doubles_while_a_replica_keeps_failing_and_a_success_clears_it() -> None:
    clock = Clock()
    balancer = Balancer("posts", [A, B], eject_seconds=10, clock=clock)
    first, _ = balancer.replicas
    ends = []
    for _ in range(5):
        balancer.eject(first)
        ends.append(first.ejected_until - clock.now)
    assert ends == [10, 20, 40, 80, 80]  # capped at 8x
    Balancer.succeeded(first)
    assert (first.failures, first.ejected_until) == (0, 0.0)
    balancer.eject(first)
    assert first.ejected_until - clock.now == 10


def test_when_every_replica_is_ejected_the_one_back_soonest_is_tried() -> None:
    clock = Clock()
    balancer = Balancer("posts", [A, B, C], eject_seconds=10, clock=clock)
    first, second, third = balancer.replicas
    balancer.eject(first)
    balancer.eject(first)  # 20 s
    balancer.eject(second)  # 10 s
    balancer.eject(third)
    balancer.eject(third)  # 20 s
    assert balancer.pick() is second
    assert balancer.pick([second]) in (first, third)


async def test_a_name_stands_for_every_address_it_resolves_to() -> None:
    names = Names(posts=["10.0.0.1", "10.0.0.2"])
    balancer = Balancer("posts", ["http://posts:8002"], resolver=names)
    assert urls(balancer) == ["http://posts:8002"]  # before the first look-up
    await balancer.resolve()
    assert urls(balancer) == ["http://10.0.0.1:8002", "http://10.0.0.2:8002"]


async def test_resolving_again_adds_and_drops_replicas_and_keeps_the_state_of_the_others() -> None:
    names = Names(posts=["10.0.0.1", "10.0.0.2"])
    clock = Clock()
    balancer = Balancer("posts", ["http://posts:8002"], resolver=names, clock=clock)
    await balancer.resolve()
    kept = balancer.replicas[1]
    balancer.eject(kept)
    names.names["posts"] = ["10.0.0.2", "10.0.0.3"]
    await balancer.resolve()
    assert urls(balancer) == ["http://10.0.0.2:8002", "http://10.0.0.3:8002"]
    assert balancer.replicas[0] is kept and kept.ejected_until > clock.now


async def test_a_failed_look_up_keeps_the_addresses_last_known() -> None:
    names = Names(posts=["10.0.0.1", "10.0.0.2"])
    balancer = Balancer("posts", ["http://posts:8002"], resolver=names)
    await balancer.resolve()
    names.failing = True
    await balancer.resolve()
    assert urls(balancer) == ["http://10.0.0.1:8002", "http://10.0.0.2:8002"]


async def test_names_and_literal_addresses_mix_and_only_names_are_looked_up() -> None:
    names = Names(social=["10.0.0.5"])
    balancer = Balancer("social", [A, "http://social:8003"], resolver=names)
    await balancer.resolve()
    assert urls(balancer) == [A, "http://10.0.0.5:8003"]
    assert names.lookups == ["social"]


async def test_the_system_resolver_answers_for_a_real_name() -> None:
    # localhost has 127.0.0.1 (and maybe ::1): IPv4 is preferred when there is any.
    assert await resolve_system("localhost", 80) == ["127.0.0.1"]
    balancer = Balancer("auth", ["http://localhost:8001"])
    await balancer.resolve()
    assert urls(balancer) == ["http://127.0.0.1:8001"]


def test_a_target_that_is_not_an_http_url_is_refused() -> None:
    with pytest.raises(ValueError, match="http://"):
        Balancer("auth", ["https://auth:8001"])
