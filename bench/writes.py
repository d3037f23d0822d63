"""Writes through the gateway, against a bare asyncpg yardstick on the same database server.

`python -m bench.writes [seconds] [--roundtrips] [--profile DIR] [--cpu] [--mix-seconds N]`
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

The load comes from this process (the http1 client, uvloop) on the same cores as what it
measures, and so does the yardstick's: compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
import uvloop

from bench import loadgen
from bench.harness import Bench, bench_environment
from shared.transport.http1 import Client

USERS = 16
SEED_ARTICLES = 400
TARGETS = 4000  # users inserted straight into the database, to be followed
TAGS = ["soup", "salad", "bread", "pasta", "rice", "curry", "stew", "vegan", "fish", "cake"]
PASSWORD = "writes-bench-1"
STACK_ENV = {"RATE_LIMIT_ANON": "0", "RATE_LIMIT_USER": "0", "DB_POOL_MAX": "10"}
TARGET_MIX_SHARE = 0.6
TARGET_MIX_P99_MS = 25.0
TARGET_SINGLE_SHARE = 0.5
TIME_LIMIT = 30.0
# py-spy in a venv of its own (python3 -m venv /tmp/spy && /tmp/spy/bin/pip install py-spy)
PY_SPY = os.environ.get("PY_SPY") or shutil.which("py-spy") or "/tmp/spy/bin/py-spy"  # noqa: S108


@dataclass
class Stats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Worker:
    index: int
    username: str
    email: str
    token: str
    own: list[str] = field(default_factory=list)  # slugs of the worker's articles
    fresh_articles: list[str] = field(default_factory=list)  # not yet favorited by the worker
    favorited: list[str] = field(default_factory=list)
    fresh_targets: list[str] = field(default_factory=list)  # usernames not yet followed
    followed: list[str] = field(default_factory=list)
    turn: int = 0


@dataclass
class Ledger:
    """What the API said it did, to check against the database at the end."""

    comments: list[str] = field(default_factory=list)  # bodies of comments answered 2xx
    articles: list[str] = field(default_factory=list)  # slugs of articles answered 2xx


class Api:
    def __init__(self, port: int) -> None:
        self.port = port
        self.client = Client(limit_per_host=256)

    async def call(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, bytes]:
        headers = [("Content-Type", "application/json")]
        if token:
            headers.append(("Authorization", f"Token {token}"))
        data = json.dumps(body).encode() if body is not None else None
        response = await self.client.request(
            "127.0.0.1", self.port, method, path, headers, data, time_limit=TIME_LIMIT
        )
        return response.status, await response.read()

    async def json(self, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        status, data = await self.call(method, path, token, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {data[:200]!r}")
        return json.loads(data) if data else None


# An operation: one request (the mix: one turn of several); False when the worker has
# nothing left to change (the unfavorite run undoes only what the favorite run did).
Op = Callable[[Worker, "Stats"], Awaitable[bool | None]]


class Bencher:
    def __init__(self, api: Api, workers: list[Worker], slugs: list[str]) -> None:
        self.api = api
        self.workers = workers
        self.slugs = slugs  # every article, for random picks
        self.ledger = Ledger()
        self.registered = 0

    async def timed(
        self, stats: Stats, method: str, path: str, token: str | None, body: Any = None
    ) -> tuple[int, bytes]:
        started = time.perf_counter()
        status, data = await self.api.call(method, path, token, body)
        if status < 300:
            stats.latencies_ms.append((time.perf_counter() - started) * 1000.0)
        else:
            stats.errors[status] += 1
        return status, data

    async def loop(self, seconds: float, op: Op) -> Stats:
        stats = Stats()
        started = time.perf_counter()
        deadline = started + seconds

        async def run(worker: Worker) -> None:
            while time.perf_counter() < deadline:
                if await op(worker, stats) is False:
                    return  # nothing left for this worker to change

        await asyncio.gather(*(run(worker) for worker in self.workers))
        stats.seconds = time.perf_counter() - started
        return stats

    # The operations: each one request (the mix: one turn of several).

    async def favorite(self, worker: Worker, stats: Stats) -> bool | None:
        if not worker.fresh_articles:
            return False
        slug = worker.fresh_articles.pop()
        status, _ = await self.timed(stats, "POST", f"/api/articles/{slug}/favorite", worker.token)
        if status < 300:
            worker.favorited.append(slug)
        return None

    async def unfavorite(self, worker: Worker, stats: Stats) -> bool | None:
        if not worker.favorited:
            return False
        slug = worker.favorited.pop()
        await self.timed(stats, "DELETE", f"/api/articles/{slug}/favorite", worker.token)
        return None

    async def follow(self, worker: Worker, stats: Stats) -> bool | None:
        if not worker.fresh_targets:
            return False
        name = worker.fresh_targets.pop()
        status, _ = await self.timed(stats, "POST", f"/api/profiles/{name}/follow", worker.token)
        if status < 300:
            worker.followed.append(name)
        return None

    async def unfollow(self, worker: Worker, stats: Stats) -> bool | None:
        if not worker.followed:
            return False
        name = worker.followed.pop()
        await self.timed(stats, "DELETE", f"/api/profiles/{name}/follow", worker.token)
        return None

    async def comment(self, worker: Worker, stats: Stats) -> None:
        text = f"Tried it ({worker.username}, {uuid.uuid4().hex})"
        status, _ = await self.timed(
            stats,
            "POST",
            f"/api/articles/{random.choice(self.slugs)}/comments",
            worker.token,
            {"comment": {"body": text}},
        )
        if status < 300:
            self.ledger.comments.append(text)

    async def create(self, worker: Worker, stats: Stats) -> None:
        worker.turn += 1
        fields = {
            "title": f"Bench dish {worker.index}-{worker.turn} {uuid.uuid4().hex[:8]}",
            "description": "A dish of the write benchmark",
            "body": "Chop, stir and taste. " * random.randint(10, 40),
            "tagList": random.sample(TAGS, 2),
        }
        status, data = await self.timed(
            stats, "POST", "/api/articles", worker.token, {"article": fields}
        )
        if status < 300:
            slug = json.loads(data)["article"]["slug"]
            worker.own.append(slug)
            self.slugs.append(slug)
            self.ledger.articles.append(slug)

    async def update(self, worker: Worker, stats: Stats) -> None:
        worker.turn += 1
        slug = worker.own[worker.turn % len(worker.own)]
        changes = {"body": f"Chop finer, turn {worker.turn}. " * random.randint(10, 40)}
        await self.timed(stats, "PUT", f"/api/articles/{slug}", worker.token, {"article": changes})

    async def register(self, worker: Worker, stats: Stats) -> None:
        self.registered += 1
        name = f"newcook{worker.index}x{self.registered}{uuid.uuid4().hex[:6]}"
        user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        await self.timed(stats, "POST", "/api/users", None, {"user": user})

    async def login(self, worker: Worker, stats: Stats) -> None:
        credentials = {"email": worker.email, "password": PASSWORD}
        await self.timed(stats, "POST", "/api/users/login", None, {"user": credentials})

    async def mix_turn(self, worker: Worker, stats: Stats) -> None:
        worker.turn += 1
        slug = random.choice(self.slugs)
        await self.timed(stats, "POST", f"/api/articles/{slug}/favorite", worker.token)
        await self.timed(stats, "DELETE", f"/api/articles/{slug}/favorite", worker.token)
        await self.comment(worker, stats)
        if worker.turn % 10 == 0:
            await self.create(worker, stats)


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


async def setup(api: Api, database_url: str) -> Bencher:
    async def register(index: int) -> Worker:
        name = f"writer{index:02d}"
        user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        body = await api.json("POST", "/api/users", None, {"user": user})
        return Worker(index, name, user["email"], body["user"]["token"])

    workers = list(await asyncio.gather(*(register(i) for i in range(USERS))))
    connection = await asyncpg.connect(database_url)
    try:
        # People to follow, straight into auth's table: nobody logs in as them.
        await connection.execute(
            """INSERT INTO auth.users (username, email, password_hash)
               SELECT 'target' || g, 'target' || g || '@example.com', 'not-a-hash'
               FROM generate_series(0, $1 - 1) g""",
            TARGETS,
        )
    finally:
        await connection.close()
    bencher = Bencher(api, workers, [])
    per_worker = SEED_ARTICLES // USERS
    seeding = Stats()

    async def publish(worker: Worker) -> None:
        for _ in range(per_worker):
            await bencher.create(worker, seeding)

    await asyncio.gather(*(publish(worker) for worker in workers))
    if seeding.errors:
        raise RuntimeError(f"seeding articles failed: {dict(seeding.errors)}")
    share = TARGETS // USERS
    for worker in workers:
        worker.fresh_targets = [
            f"target{n}" for n in range(worker.index * share, (worker.index + 1) * share)
        ]
    return bencher


def refill(bencher: Bencher) -> None:
    """Before the favorite run: every article each worker has not favorited, shuffled."""
    for worker in bencher.workers:
        taken = set(worker.favorited)
        worker.fresh_articles = [s for s in bencher.slugs if s not in taken]
        random.shuffle(worker.fresh_articles)


# The end: nothing lost.


async def verify(database_url: str, redis_url: str, ledger: Ledger) -> list[tuple[str, int, int]]:
    """(what, how many checked, how many wrong) per check."""
    connection = await asyncpg.connect(database_url)
    checks: list[tuple[str, int, int]] = []
    try:
        recount = {
            "like counters (social.like_counts)": """
                SELECT count(*), count(*) FILTER (WHERE coalesce(r.n, 0) <> coalesce(c.likes, 0))
                FROM (SELECT article_id, count(*) n FROM social.likes GROUP BY 1) r
                FULL JOIN social.like_counts c USING (article_id)""",
            "per-user like counters (social.user_likes)": """
                SELECT count(*), count(*) FILTER (WHERE coalesce(r.n, 0) <> coalesce(c.likes, 0))
                FROM (SELECT user_id, count(*) n FROM social.likes GROUP BY 1) r
                FULL JOIN social.user_likes c USING (user_id)""",
            "follow counters (social.follow_counts)": """
                SELECT count(*), count(*) FILTER (
                    WHERE coalesce(r.followers, 0) <> coalesce(c.followers, 0)
                       OR coalesce(f.following, 0) <> coalesce(c.following, 0))
                FROM social.follow_counts c
                FULL JOIN (SELECT followee_id AS user_id, count(*) followers
                           FROM social.follows GROUP BY 1) r USING (user_id)
                FULL JOIN (SELECT follower_id AS user_id, count(*) following
                           FROM social.follows GROUP BY 1) f USING (user_id)""",
            "tag counters (posts.tags)": """
                SELECT count(*), count(*) FILTER (WHERE coalesce(r.n, 0) <> t.article_count)
                FROM posts.tags t
                LEFT JOIN (SELECT tag_id, count(*) n FROM posts.article_tags GROUP BY 1) r
                ON r.tag_id = t.id""",
        }
        for name, sql in recount.items():
            total, wrong = await connection.fetchrow(sql)
            checks.append((name, total, wrong))
        rows = await connection.fetch(
            "SELECT body, count(*) n FROM posts.comments WHERE body = ANY($1::text[]) GROUP BY 1",
            ledger.comments,
        )
        found = {row["body"]: row["n"] for row in rows}
        wrong = sum(1 for body in ledger.comments if found.get(body) != 1)
        checks.append(("comments answered 2xx, stored once", len(ledger.comments), wrong))
        rows = await connection.fetch(
            "SELECT slug, count(*) n FROM posts.articles WHERE slug = ANY($1::text[]) GROUP BY 1",
            ledger.articles,
        )
        found = {row["slug"]: row["n"] for row in rows}
        wrong = sum(1 for slug in ledger.articles if found.get(slug) != 1)
        checks.append(("articles answered 2xx, stored once", len(ledger.articles), wrong))
        likes = {
            row["article_id"]: row["n"]
            for row in await connection.fetch(
                "SELECT article_id, count(*) n FROM social.likes GROUP BY 1"
            )
        }
        followers = {
            row["u"]: row["n"]
            for row in await connection.fetch(
                "SELECT followee_id u, count(*) n FROM social.follows GROUP BY 1"
            )
        }
        following = {
            row["u"]: row["n"]
            for row in await connection.fetch(
                "SELECT follower_id u, count(*) n FROM social.follows GROUP BY 1"
            )
        }
    finally:
        await connection.close()
    redis = aioredis.from_url(redis_url, decode_responses=True)
    try:
        published_likes = published_follows = wrong_likes = wrong_follows = 0
        async for key in redis.scan_iter("sf:likes:*", count=1000):
            value = await redis.get(key)
            value = None if value is None else str(value)
            if value is None:
                continue
            published_likes += 1
            if int(value.split(":")[1]) != likes.get(int(key.rsplit(":", 1)[1]), 0):
                wrong_likes += 1
        async for key in redis.scan_iter("sf:follows:*", count=1000):
            value = await redis.get(key)
            value = None if value is None else str(value)
            if value is None:
                continue
            published_follows += 1
            user_id = int(key.rsplit(":", 1)[1])
            _, n_followers, n_following = value.split(":")
            if (int(n_followers), int(n_following)) != (
                followers.get(user_id, 0),
                following.get(user_id, 0),
            ):
                wrong_follows += 1
    finally:
        await redis.aclose()
    checks.append(("like counts published to Redis", published_likes, wrong_likes))
    checks.append(("follow counts published to Redis", published_follows, wrong_follows))
    return checks


# Round trips per request: statements, Redis commands, HTTP requests per service.


class RoundTrips:
    """Deltas of the database log, Redis commandstats and each service's /metrics."""

    SERVICES = ("gateway", "auth", "posts", "social")

    def __init__(self, database_url: str, redis_url: str, log: Path, ports: dict[str, int]):
        self.database_url = database_url
        self.redis_url = redis_url
        self.log = log
        self.ports = ports

    async def enable(self) -> None:
        connection = await asyncpg.connect(self.database_url)
        try:
            await connection.execute("ALTER SYSTEM SET log_statement = 'all'")
            await connection.execute("ALTER SYSTEM SET log_line_prefix = '%a|'")
            await connection.execute("SELECT pg_reload_conf()")
        finally:
            await connection.close()
        await asyncio.sleep(0.5)

    async def disable(self) -> None:
        connection = await asyncpg.connect(self.database_url)
        try:
            await connection.execute("ALTER SYSTEM RESET log_statement")
            await connection.execute("ALTER SYSTEM RESET log_line_prefix")
            await connection.execute("SELECT pg_reload_conf()")
        finally:
            await connection.close()

    async def snapshot(self) -> dict[str, Any]:
        redis = aioredis.from_url(self.redis_url)
        try:
            stats = await redis.info("commandstats")
        finally:
            await redis.aclose()
        http = {}
        for name in self.SERVICES:
            text = await asyncio.to_thread(_get, f"http://127.0.0.1:{self.ports[name]}/metrics")
            http[name] = sum(
                float(m.group(2))
                for m in re.finditer(r"^http_requests_total\{(.*)\} (\S+)$", text, re.M)
                if "/health" not in m.group(1) and "/metrics" not in m.group(1)
            )
        return {
            "log": self.log.stat().st_size,
            "redis": {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()},
            "http": http,
            "time": time.perf_counter(),
        }

    def delta(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        with self.log.open("rb") as handle:
            handle.seek(before["log"])
            text = handle.read(after["log"] - before["log"]).decode(errors="replace")
        self.last_log = text
        statements: Counter[str] = Counter()
        for line in text.splitlines():
            app, _, rest = line.partition("|")
            if "LOG:  statement:" in rest or "LOG:  execute" in rest:
                statements[app] += 1
        redis = Counter({k: v - before["redis"].get(k, 0) for k, v in after["redis"].items()})
        # The snapshot's own INFO, and the metrics scrapes are not counted by the services.
        redis["info"] -= 1
        http = {k: after["http"][k] - before["http"][k] for k in self.SERVICES}
        return {
            "statements": statements,
            "redis": +redis,
            "http": http,
            "seconds": after["time"] - before["time"],
        }


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
        return str(response.read().decode())


async def count_round_trips(
    bencher: Bencher, counter: RoundTrips, ops: Mapping[str, Op]
) -> list[str]:
    await counter.enable()
    worker = bencher.workers[0]
    requests = 40
    try:
        # Background: relays polling the outbox, consumers reading the streams.
        before = await counter.snapshot()
        await asyncio.sleep(3.0)
        idle = counter.delta(before, await counter.snapshot())
        lines = []
        for name, op in ops.items():
            stats = Stats()
            await op(worker, stats)  # warm
            await asyncio.sleep(0.6)  # the relay of the warm-up's events
            before = await counter.snapshot()
            for _ in range(requests):
                await op(worker, stats)
            await asyncio.sleep(0.6)  # events published and consumed count too
            after = await counter.snapshot()
            seen = counter.delta(before, after)
            if dump := os.environ.get("ROUNDTRIPS_LOG_DIR"):  # the statements themselves
                folder = Path(dump)
                await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
                await asyncio.to_thread((folder / f"{name}.log").write_text, counter.last_log)
            scale = seen["seconds"] / idle["seconds"]
            per: dict[str, float] = {}
            for app in ("posts", "social", "auth", "chat"):
                value = seen["statements"][app] - idle["statements"][app] * scale
                per[app] = max(0.0, value) / requests
            made = len(stats.latencies_ms) - 1 or 1
            redis = {
                k: (v - idle["redis"].get(k, 0) * scale) / requests
                for k, v in seen["redis"].items()
            }
            redis_total = sum(v for v in redis.values() if v > 0.05)
            top = ", ".join(
                f"{k} {v:.1f}" for k, v in sorted(redis.items(), key=lambda kv: -kv[1]) if v > 0.05
            )
            http = {k: seen["http"][k] / requests for k in counter.SERVICES}
            lines.append(
                f"{name:12} {per['posts']:5.1f} {per['social']:6.1f} {per['auth']:5.1f} "
                f"{per['chat']:5.1f}  {redis_total:6.1f}  "
                f"{http['gateway']:4.1f} {http['auth']:4.1f} {http['posts']:4.1f} "
                f"{http['social']:4.1f}   {top}"
                + (f"  [{len(stats.errors)} errors, {made} ok]" if stats.errors else "")
            )
    finally:
        await counter.disable()
    header = (
        f"{'per request':12} {'SQL: posts':>5} {'social':>6} {'auth':>5} {'chat':>5}  "
        f"{'redis':>6}  HTTP: gw auth posts social   redis commands"
    )
    return [header, *lines]


# py-spy, on every process of the stack during the mix.


def start_profilers(bench: Bench, folder: Path, seconds: float) -> list[subprocess.Popen[bytes]]:
    folder.mkdir(parents=True, exist_ok=True)
    spies = []
    for process in bench.processes:
        args = process.args if isinstance(process.args, list) else []
        module = next((a for a in args if a.endswith("_service") or a == "gateway"), None)
        if module is None or process.poll() is not None:
            continue
        for fmt, suffix in (("raw", "txt"),):
            spies.append(
                subprocess.Popen(
                    [
                        PY_SPY,
                        "record",
                        "--nonblocking",
                        "--format",
                        fmt,
                        "--rate",
                        "200",
                        "--duration",
                        str(int(seconds)),
                        "--pid",
                        str(process.pid),
                        "--output",
                        str(folder / f"{module}.{suffix}"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    return spies


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks


def servers_cpu_seconds() -> dict[str, float]:
    """CPU used so far by every PostgreSQL and Redis (Valkey) process of the machine."""
    used = {"postgres": 0.0, "redis": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            seconds = cpu_seconds(int(entry.name))
        except OSError:  # the process ended meanwhile
            continue
        if name.startswith("postgres"):
            used["postgres"] += seconds
        elif name.startswith(("redis", "valkey")):
            used["redis"] += seconds
    return used


def machine_cpu_seconds() -> float:
    """CPU used so far by the whole machine (every process, the kernel included)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / 100.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=5.0)
    parser.add_argument("--roundtrips", action="store_true")
    parser.add_argument("--profile", metavar="DIR")
    parser.add_argument("--cpu", action="store_true", help="CPU per request of the mix")
    parser.add_argument("--mix-seconds", type=float, default=30.0)
    args = parser.parse_args()
    loadgen.require_wrk()
    with bench_environment() as bench:
        ports = bench.start_stack(**STACK_ENV)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(run(bench, ports, args.seconds, args))


if __name__ == "__main__":
    main()
