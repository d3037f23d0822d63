"""Fault drills: a mixed load through the gateway while a part of the stack fails.

Each drill passes when no operation that is safe to retry failed, no request outlived its
deadline, every write answered 2xx is stored exactly once, every counter equals its recount
and every event was handled. The figures are printed (`make test-drills` shows them) and go
into the README's Reliability section.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.drills import checks
from tests.drills.conftest import Population
from tests.drills.load import ATTEMPT_TIMEOUT, Figures, Ledger, Load
from tests.drills.stack import DrillStack
from tests.mail import clear_mailbox
from tests.upgrade.reference import UPGRADE_REFERENCE
from tests.upgrade.releases import Release, check_out, python_for
from tests.waiting import until

pytestmark = [pytest.mark.drill, pytest.mark.timeout(180)]

SERVICES = ("auth", "posts", "social", "chat")
# How long Redis stays frozen; the drill run must stay within a few minutes on 2 cores.
REDIS_STALL = float(os.environ.get("DRILL_REDIS_STALL", "20"))
WARM_UP = 2.0
SETTLE = 4.0
# How long the rolling-upgrade drill serves from both releases at once.
MIXED = 8.0


def report(name: str, figures: Figures, restored_at: float | None = None) -> None:
    print(f"\nDRILL {name}: {figures.summary(restored_at)}", flush=True)


async def baseline(drill: DrillStack) -> tuple[datetime, set[str]]:
    """When the drill begins by the database's clock, and the counters already wrong then
    (an earlier drill reported them)."""
    db = await asyncpg.connect(drill.database_url)
    try:
        return await db.fetchval("SELECT now()"), set(await checks.counter_mismatches(db))
    finally:
        await db.close()


async def verify(drill: DrillStack, traffic: Load, since: datetime, known: set[str]) -> None:
    figures = traffic.figures
    # A fresh connection: the drill may have restarted the database.
    db = await asyncpg.connect(drill.database_url)
    try:
        problems = await checks.everything(db, traffic.ledger, since, known)
    finally:
        await db.close()
    # All at once, so that a run names every defect it found.
    problems += [f"operation failed for good: {failure}" for failure in figures.failed[:10]]
    if figures.timeouts:
        problems.append(
            f"{figures.timeouts} requests outlived their {ATTEMPT_TIMEOUT:.0f} s deadline"
        )
    assert not problems, problems[:20]


def load(session: aiohttp.ClientSession, population: Population, seed: int, **extra: Any) -> Load:
    return Load(session, population.users, population.general_chat, Ledger(), seed, **extra)


async def test_a_replica_of_each_service_killed_under_load_loses_nothing(
    drill: DrillStack, population: Population, session: aiohttp.ClientSession
) -> None:
    since, known = await baseline(drill)
    traffic = load(session, population, seed=1)
    async with traffic.running() as figures:
        await asyncio.sleep(WARM_UP)
        # One after another, each restarted without waiting for the last to be ready.
        for service in SERVICES:
            drill.kill(f"{service}-1")
            await asyncio.sleep(2)
            drill.start(f"{service}-1")
        await drill.wait_ready(*(f"{service}-1" for service in SERVICES))
        restored = time.monotonic()
        await asyncio.sleep(SETTLE)
    report("kill -9 one replica of each service, then restart", figures, restored)
    await verify(drill, traffic, since, known)


async def test_redis_frozen_then_thawed_under_load_loses_nothing(
    drill: DrillStack, population: Population, session: aiohttp.ClientSession
) -> None:
    since, known = await baseline(drill)
    traffic = load(session, population, seed=2)
    async with traffic.running() as figures:
        await asyncio.sleep(WARM_UP)
        drill.pause_redis()
        try:
            await asyncio.sleep(REDIS_STALL)
        finally:
            drill.resume_redis()
        restored = time.monotonic()
        await asyncio.sleep(SETTLE)
    report(f"Redis SIGSTOP {REDIS_STALL:.0f} s, then SIGCONT", figures, restored)
    await verify(drill, traffic, since, known)


async def test_redis_killed_and_restarted_empty_under_load_loses_nothing(
    drill: DrillStack, population: Population, session: aiohttp.ClientSession
) -> None:
    since, known = await baseline(drill)
    traffic = load(session, population, seed=3)
    async with traffic.running() as figures:
        await asyncio.sleep(WARM_UP)
        drill.kill_redis()
        await asyncio.sleep(3)
        await drill.start_redis()
        restored = time.monotonic()
        await asyncio.sleep(SETTLE)
    report("Redis SIGKILL, restarted empty on the same port after 3 s", figures, restored)
    await verify(drill, traffic, since, known)


async def test_postgres_restarted_under_load_loses_nothing(
    drill: DrillStack, population: Population, session: aiohttp.ClientSession
) -> None:
    since, known = await baseline(drill)
    traffic = load(session, population, seed=4)
    async with traffic.running() as figures:
        await asyncio.sleep(WARM_UP)
        await asyncio.to_thread(drill.stop_postgres)
        await asyncio.sleep(1)
        await drill.start_postgres()
        restored = time.monotonic()
        await asyncio.sleep(SETTLE)
    report("PostgreSQL stopped (pg_ctl stop, fast) and started again", figures, restored)
    await verify(drill, traffic, since, known)


async def test_every_mail_goes_out_once_after_smtp_and_auth_come_back(
    drill: DrillStack, population: Population, session: aiohttp.ClientSession
) -> None:
    since, known = await baseline(drill)
    traffic = load(session, population, seed=5, register=False)
    expected: set[tuple[str, str]] = set()
    async with traffic.running() as figures:
        await asyncio.sleep(WARM_UP)
        drill.stop_smtp()
        for index in range(4):
            name = f"mail{index}{traffic.run}"
            body = {
                "user": {"username": name, "email": f"{name}@example.com", "password": "p4ss-word"}
            }
            outcome, payload = await traffic.operation(
                "register (mail)",
                functools.partial(traffic.request, "POST", "/api/users", None, body),
            )
            assert outcome == "201", payload
            expected.add((f"{name}@example.com", "Confirm your e-mail address"))
        for user in population.users[:3]:
            address = f"{user.name}@example.com"
            outcome, payload = await traffic.operation(
                "password reset",
                functools.partial(
                    traffic.request, "POST", "/api/auth/password-reset", None, {"email": address}
                ),
            )
            assert outcome == "202", payload
            expected.add((address, "Reset your password"))
        for name in drill.replicas("auth"):
            await asyncio.to_thread(drill.terminate, name)
            await drill.restart(name)
        await drill.start_smtp()
        restored = time.monotonic()
        await asyncio.sleep(SETTLE)

    async def delivered() -> list[tuple[str, str]]:
        async with session.get(f"{drill.mail_api}/api/v1/messages?limit=1000") as response:
            listing = await response.json()
        return [(m["To"][0]["Address"], m["Subject"]) for m in listing["messages"]]

    async def all_arrived() -> bool:
        return expected <= set(await delivered())

    arrived_after: float | None = None
    with contextlib.suppress(AssertionError):
        await until(all_arrived, timeout=30, every=0.5)
        arrived_after = round(time.monotonic() - restored, 2)
        await asyncio.sleep(3)  # a second copy would come within this
    mails = await delivered()
    await clear_mailbox(drill.mail_api)
    report("SMTP down while auth restarts", figures, restored)
    print(
        f"mails expected={len(expected)} delivered={len(mails)} all_arrived_after={arrived_after}s",
        flush=True,
    )
    await verify(drill, traffic, since, known)
    twice = [mail for mail in set(mails) if mails.count(mail) > 1]
    assert not twice, twice
    assert expected <= set(mails), sorted(expected - set(mails))


async def test_sigterm_to_a_replica_under_load_lets_requests_in_flight_finish(
    drill: DrillStack, population: Population, session: aiohttp.ClientSession
) -> None:
    since, known = await baseline(drill)
    traffic = load(session, population, seed=6)
    codes = {}
    async with traffic.running() as figures:
        await asyncio.sleep(WARM_UP)
        for service in SERVICES:
            name = f"{service}-2"
            codes[name] = await asyncio.to_thread(drill.terminate, name)
            drill.start(name)
        await drill.wait_ready(*(f"{service}-2" for service in SERVICES))
        restored = time.monotonic()
        await asyncio.sleep(SETTLE)
    report("SIGTERM to one replica of each service, then restart", figures, restored)
    await verify(drill, traffic, since, known)
    assert codes == dict.fromkeys(codes, 0), codes
    # A draining replica finishes what it has and the gateway sends the rest elsewhere:
    # not a single request may fail, retried or not.
    assert figures.errors == {}, figures.errors


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Release:
    root = Path(tmp_path_factory.mktemp("reference"))
    tree = check_out(UPGRADE_REFERENCE, root / "tree")
    return Release("reference", tree, python_for(tree, root / "venvs"))


# The settings a rollout from the reference release runs with (the README's "Upgrading").
ROLLOUT_SETTINGS = {"INTERNAL_AUTH_ENFORCE": "false", "ARTICLE_CACHE_LIST_VERSIONS": "false"}


async def rollout_settings(drill: DrillStack, names: list[str], permit: bool) -> None:
    """Every process started from now on runs with the rollout's settings (lets calls
    without an internal credential through, and moves the page version that the reference
    release reads), or without them again; the replicas `names` are restarted so (drained
    with SIGTERM)."""
    for spec in drill.specs.values():
        for name, value in ROLLOUT_SETTINGS.items():
            if permit:
                spec.env[name] = value
            else:
                spec.env.pop(name, None)
    for name in names:
        await asyncio.to_thread(drill.terminate, name)
        await drill.restart(name)


def start_reference(drill: DrillStack, name: str, release: Release) -> None:
    """Replica `name` as the reference release runs it: its own code, the same settings."""
    spec = drill.specs[name]
    env = {**os.environ, **spec.env, "PYTHONPATH": str(release.tree), "PYTHONUNBUFFERED": "1"}
    with (drill.log_dir / f"{name}-{release.name}.log").open("ab") as output:
        drill.processes[name] = subprocess.Popen(
            [release.python, "-m", spec.module],
            cwd=release.tree,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def test_a_rolling_upgrade_with_the_reference_release_beside_this_one_loses_nothing(
    drill: DrillStack,
    population: Population,
    session: aiohttp.ClientSession,
    reference: Release,
) -> None:
    since, known = await baseline(drill)
    traffic = load(session, population, seed=7)
    mixed = [f"{service}-2" for service in SERVICES]
    staying = [f"{service}-1" for service in SERVICES]
    on_reference: set[str] = set()
    try:
        async with traffic.running() as figures:
            await asyncio.sleep(WARM_UP)
            # The reference release sends no internal credential: first a rollout lets an
            # unsigned call through (README, "Upgrading"), as an operator does before old and
            # new replicas serve side by side.
            await rollout_settings(drill, staying, True)
            # Half of every service goes back to the reference release, one replica at a
            # time as a rollout replaces them (drained with SIGTERM); the gateway is this
            # checkout's. Both releases serve the load side by side on this schema...
            for name in mixed:
                await asyncio.to_thread(drill.terminate, name)
                start_reference(drill, name, reference)
                on_reference.add(name)
                await drill.wait_ready(name)
            await asyncio.sleep(MIXED)
            # ...then the rollout goes on: the same replicas come back as this checkout.
            for name in mixed:
                await asyncio.to_thread(drill.terminate, name)
                on_reference.discard(name)
                await drill.restart(name)
            # ...and the last rollout checks every credential again.
            await rollout_settings(drill, staying, False)
            restored = time.monotonic()
            await asyncio.sleep(SETTLE)
    finally:
        # A drill that failed half-way leaves no replica of the reference release behind,
        # and every replica checking credentials.
        for name in sorted(on_reference):
            drill.processes[name].kill()
            drill.processes[name].wait(10)
            await drill.restart(name)
        if any("INTERNAL_AUTH_ENFORCE" in spec.env for spec in drill.specs.values()):
            await rollout_settings(drill, staying, False)
    report(f"rolling upgrade: {UPGRADE_REFERENCE} beside this checkout", figures, restored)
    await verify(drill, traffic, since, known)
    assert figures.errors == {}, figures.errors
