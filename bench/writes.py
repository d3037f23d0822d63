"""Writes through the gateway, against a bare asyncpg yardstick on the same database server.

`python -m bench.writes [seconds] [--roundtrips] [--notifications] [--profile DIR] [--cpu]
[--mix-seconds N]`
starts the stack (embedded PostgreSQL and Valkey unless DATABASE_URL / REDIS_URL are set),
registers USERS users through the API, publishes SEED_ARTICLES articles through the API and
inserts TARGETS users straight into auth's table (people to follow), then measures at USERS
connections, one signed-in user per connection, each in a closed loop:

- the yardstick: a bare asyncpg loop of USERS connections, one small transaction per operation
  (an insert and an update of a counter), on the same PostgreSQL server; measured first and
  last, and the ratios use the mean of the two;
- the write mix: each user loops over favorite and unfavorite of a random article and a
  comment on a random one, and publishes a new article every tenth turn;
- each operation alone: favorite, unfavorite, follow, unfollow, comment, create article,
  update article, register, login;
- login beside the password hash alone (USERS threads hashing with auth's argon2 settings in
  a process of their own), and GET /api/articles?limit=20 at one connection (wrk) alone and
  while USERS clients log in.

It ends by checking that nothing was lost: every like and follow counter (and every published
copy in Redis) equals a recount from the tables, every comment and article that got a 2xx
exists once. `--roundtrips` adds, per operation, the PostgreSQL statements (from the server's
log with `log_statement = all`), Redis commands (INFO commandstats) and HTTP requests per
service (their /metrics), per request, background activity subtracted. `--profile DIR` runs
the mix for `--mix-seconds` (default 30) under `py-spy record` on every process; `--cpu` runs
it alone between two yardstick runs and prints the CPU each process (and PostgreSQL, Redis
and the whole machine) spent per request, the figure least moved by a noisy machine.
`--notifications` runs the mix for `--mix-seconds` with every user's chat socket open and
prints, beside the mix's figures, how long each notification its writes made took to reach
the recipient's socket after the write's answer (`bench/notify_latency.py`).

The load comes from this process (the http1 client, uvloop) on the same cores as what it
measures, and so does the yardstick's: compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import os
import random
import time
from pathlib import Path

import asyncpg
import uvloop

from bench import loadgen
from bench.harness import (
    Bench,
    bench_environment,
    cpu_seconds,
    machine_cpu_seconds,
    servers_cpu_seconds,
    start_profilers,
)
from bench.notify_latency import Deliveries, listening
from bench.writes_checks import RoundTrips, count_round_trips, verify
from bench.writes_load import (
    PASSWORD,
    SEED_ARTICLES,
    TARGETS,
    USERS,
    Api,
    Bencher,
    Stats,
    refill,
    setup,
)

STACK_ENV = {"RATE_LIMIT_ANON": "0", "RATE_LIMIT_USER": "0", "DB_POOL_MAX": "10"}
TARGET_MIX_SHARE = 0.6
TARGET_MIX_P99_MS = 25.0
TARGET_SINGLE_SHARE = 0.5


# The yardstick: one small transaction per operation, straight to PostgreSQL.

YARD_SETUP = """
DROP TABLE IF EXISTS public.bench_yard_events, public.bench_yard_counts;
CREATE TABLE public.bench_yard_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL,
    article_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.bench_yard_counts (article_id bigint PRIMARY KEY, n integer NOT NULL);
INSERT INTO public.bench_yard_counts SELECT g, 0 FROM generate_series(1, 1000) g;
"""


async def yardstick(database_url: str, seconds: float) -> Stats:
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(YARD_SETUP)
    finally:
        await admin.close()
    pool = await asyncpg.create_pool(database_url, min_size=USERS, max_size=USERS)
    stats = Stats()
    started = time.perf_counter()
    deadline = started + seconds

    async def run(user_id: int) -> None:
        async with pool.acquire() as connection:
            while time.perf_counter() < deadline:
                article_id = random.randint(1, 1000)
                began = time.perf_counter()
                async with connection.transaction():
                    await connection.execute(
                        "INSERT INTO public.bench_yard_events (user_id, article_id)"
                        " VALUES ($1, $2)",
                        user_id,
                        article_id,
                    )
                    await connection.execute(
                        "UPDATE public.bench_yard_counts SET n = n + 1 WHERE article_id = $1",
                        article_id,
                    )
                stats.latencies_ms.append((time.perf_counter() - began) * 1000.0)

    try:
        await asyncio.gather(*(run(n) for n in range(USERS)))
    finally:
        stats.seconds = time.perf_counter() - started
        await pool.close()
    return stats


def _hash_loop(seconds: float, time_cost: int, memory_kib: int) -> tuple[int, float]:
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    stored = hasher.hash(PASSWORD)
    deadline = time.perf_counter() + seconds

    def one_thread() -> int:
        done = 0
        while time.perf_counter() < deadline:
            hasher.verify(stored, PASSWORD)
            done += 1
        return done

    started = time.perf_counter()
    threads = min(32, (os.cpu_count() or 1) + 4)  # asyncio.to_thread's default executor
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: one_thread(), range(threads)))
    return total, time.perf_counter() - started


def hash_rate(seconds: float) -> float:
    """Password verifications per second with auth's argon2 defaults, in a process of its own
    with as many threads as asyncio.to_thread's default executor (where auth hashes)."""
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        total, elapsed = pool.submit(_hash_loop, seconds, 3, 65536).result()
    return total / elapsed


# Setting up: users, articles, people to follow.


# The run.


def row(name: str, stats: Stats, yard_rate: float, stats_seconds: float) -> str:
    errors = sum(stats.errors.values())
    note = f" {dict(stats.errors)}" if errors else ""
    if stats.seconds < stats_seconds - 0.5:
        note += f" (ran out of things to undo after {stats.seconds:.1f} s)"
    return (
        f"{name:26} {stats.rate:8.0f} {stats.percentile(0.5):8.2f} {stats.percentile(0.99):8.2f} "
        f"{stats.rate / yard_rate:7.3f} {errors:6d}{note}"
    )


async def run(
    bench: Bench, ports: dict[str, int], seconds: float, args: argparse.Namespace
) -> None:
    database_url = bench.infra.database_url
    api = Api(ports["gateway"])
    print(
        f"setting up: {USERS} users, {SEED_ARTICLES} articles, {TARGETS} people to follow",
        flush=True,
    )
    bencher = await setup(api, database_url)
    gateway = f"http://127.0.0.1:{ports['gateway']}"

    if args.profile or args.cpu:
        pids = {
            next(a for a in p.args if a.endswith("_service") or a == "gateway"): p.pid
            for p in bench.processes
            if isinstance(p.args, list)
            and any(a.endswith("_service") or a == "gateway" for a in p.args)
        }
        await bencher.loop(2, bencher.mix_turn)
        yard_first = await yardstick(database_url, 3) if args.cpu else None
        spies = []
        if args.profile:
            folder = Path(args.profile)
            print(f"profiling the mix for {args.mix_seconds:.0f} s into {folder}", flush=True)
            spies = start_profilers(bench, folder, args.mix_seconds)
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        servers_before, machine_before = servers_cpu_seconds(), machine_cpu_seconds()
        stats = await bencher.loop(args.mix_seconds, bencher.mix_turn)
        cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
        servers_after, machine_after = servers_cpu_seconds(), machine_cpu_seconds()
        for spy in spies:
            spy.wait(60)
        requests = len(stats.latencies_ms)
        print(
            f"mix: {requests} requests, {stats.rate:.0f}/s, p50 {stats.percentile(0.5):.2f} ms, "
            f"p99 {stats.percentile(0.99):.2f} ms, errors {dict(stats.errors)}"
        )
        if yard_first is not None:
            yard_last = await yardstick(database_url, 3)
            yard_rate = (yard_first.rate + yard_last.rate) / 2
            print(f"yardstick {yard_rate:.0f}/s: the mix at {stats.rate / yard_rate:.3f} of it")
        used_by = {name: cpu_after[name] - cpu_before[name] for name in pids}
        for name, before in servers_before.items():
            used_by[name] = servers_after.get(name, before) - before
        used_by["whole machine"] = machine_after - machine_before
        for name, used in used_by.items():
            print(
                f"  {name:14} CPU {used:6.1f} s = {used / stats.seconds:4.2f} core, "
                f"{used / requests * 1e6:6.0f} us per request"
            )
        return

    if args.notifications:
        await notification_latency(bencher, ports["gateway"], args.mix_seconds)
        return

    if args.roundtrips:
        refill(bencher)
        ops = {
            "favorite": bencher.favorite,
            "unfavorite": bencher.unfavorite,
            "follow": bencher.follow,
            "unfollow": bencher.unfollow,
            "comment": bencher.comment,
            "create": bencher.create,
            "update": bencher.update,
            "register": bencher.register,
            "login": bencher.login,
        }
        counter = RoundTrips(
            database_url, bench.infra.redis_url, bench.work_dir / "postgres" / "log", ports
        )
        print("\n".join(await count_round_trips(bencher, counter, ops)))
        return

    print("measuring...", flush=True)
    yard_first = await yardstick(database_url, seconds)
    rows: dict[str, Stats] = {}
    await bencher.loop(1, bencher.mix_turn)  # warm-up
    rows["write mix"] = await bencher.loop(seconds, bencher.mix_turn)
    rows["create article"] = await bencher.loop(seconds, bencher.create)
    rows["update article"] = await bencher.loop(seconds, bencher.update)
    refill(bencher)
    rows["favorite"] = await bencher.loop(seconds, bencher.favorite)
    rows["unfavorite"] = await bencher.loop(seconds, bencher.unfavorite)
    rows["follow"] = await bencher.loop(seconds, bencher.follow)
    rows["unfollow"] = await bencher.loop(seconds, bencher.unfollow)
    rows["comment"] = await bencher.loop(seconds, bencher.comment)
    rows["register"] = await bencher.loop(seconds, bencher.register)
    rows["login"] = await bencher.loop(seconds, bencher.login)
    hashes = await asyncio.to_thread(hash_rate, seconds)
    read_url = f"{gateway}/api/articles?limit=20"
    loadgen.run(read_url, 1, 1)
    read_alone = await asyncio.to_thread(loadgen.run, read_url, 1, seconds)
    login_task = asyncio.create_task(bencher.loop(seconds + 1.0, bencher.login))
    await asyncio.sleep(0.5)
    read_during = await asyncio.to_thread(loadgen.run, read_url, 1, seconds)
    rows["login (beside the reads)"] = await login_task
    yard_last = await yardstick(database_url, seconds)
    yard_rate = (yard_first.rate + yard_last.rate) / 2
    checks = await verify(database_url, bench.infra.redis_url, bencher.ledger)

    print(
        f"\n{USERS} connections, one signed-in user each, closed loop, {seconds:.0f} s per row; "
        "latency of answered requests (2xx)"
    )
    print(f"{'':26} {'ops/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'of yard':>7} {'errors':>6}")
    print(row("yardstick (first)", yard_first, yard_rate, seconds))
    print(row("yardstick (last)", yard_last, yard_rate, seconds))
    for name, stats in rows.items():
        print(row(name, stats, yard_rate, seconds))
    print(
        f"{'password hash alone':26} {hashes:8.0f}   (argon2id t=3 m=64MiB, threads of to_thread)"
    )
    print(
        f"GET /api/articles?limit=20 @1: alone p50 {read_alone.median_ms:.2f} ms p99 "
        f"{read_alone.p99_ms:.2f} ms ({read_alone.requests_per_second:.0f}/s); while {USERS} "
        f"log in p50 {read_during.median_ms:.2f} ms p99 {read_during.p99_ms:.2f} ms "
        f"({read_during.requests_per_second:.0f}/s)"
    )
    mix = rows["write mix"]
    print("\ntargets:")
    print(
        f"  mix {mix.rate / yard_rate:.2f} of the yardstick (>= {TARGET_MIX_SHARE}), p99 "
        f"{mix.percentile(0.99):.1f} ms (< {TARGET_MIX_P99_MS:.0f}): "
        + (
            "met"
            if mix.rate / yard_rate >= TARGET_MIX_SHARE and mix.percentile(0.99) < TARGET_MIX_P99_MS
            else "MISSED"
        )
    )
    for name, stats in rows.items():
        if name in ("write mix", "login", "login (beside the reads)"):
            continue
        share = stats.rate / yard_rate
        verdict = "met" if share >= TARGET_SINGLE_SHARE else "MISSED"
        print(f"  {name:16} {share:.2f} of the yardstick (>= {TARGET_SINGLE_SHARE}): {verdict}")
    login = rows["login"]
    print(
        f"  login {login.rate:.0f}/s = {login.rate / hashes:.2f} of the hash alone; reads while "
        f"logging in p50 x{read_during.median_ms / read_alone.median_ms:.1f}, p99 "
        f"x{read_during.p99_ms / read_alone.p99_ms:.1f}"
    )
    print("\nnothing lost:")
    for name, total, wrong in checks:
        print(
            f"  {name:44} {total:7d} checked, {wrong} wrong" + ("" if not wrong else "  <-- LOST")
        )


async def notification_latency(bencher: Bencher, port: int, seconds: float) -> None:
    deliveries = Deliveries()
    async with listening(port, [worker.token for worker in bencher.workers], deliveries):
        bencher.deliveries = deliveries
        stats = await bencher.loop(seconds, bencher.mix_turn)
        bencher.deliveries = None
        await asyncio.sleep(3.0)  # what is still on its way
    # Only writes on someone else's recipe were recorded: each must notify.
    expected = set(deliveries.answered)
    print(
        f"mix with {len(bencher.workers)} sockets open: {len(stats.latencies_ms)} requests, "
        f"{stats.rate:.0f}/s, p50 {stats.percentile(0.5):.2f} ms, "
        f"p99 {stats.percentile(0.99):.2f} ms, errors {dict(stats.errors)}"
    )
    print(deliveries.summary(expected))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=5.0)
    parser.add_argument("--roundtrips", action="store_true")
    parser.add_argument("--notifications", action="store_true")
    parser.add_argument("--profile", metavar="DIR")
    parser.add_argument("--cpu", action="store_true", help="CPU per request of the mix")
    parser.add_argument("--mix-seconds", type=float, default=30.0)
    args = parser.parse_args()
    if not (args.notifications or args.roundtrips or args.profile or args.cpu):
        loadgen.require_wrk()  # only the full run reads through wrk
    with bench_environment() as bench:
        ports = bench.start_stack(**STACK_ENV)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(run(bench, ports, args.seconds, args))


if __name__ == "__main__":
    main()
