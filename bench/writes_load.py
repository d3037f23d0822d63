"""The load of `bench.writes`: signed-in users in closed loops of writes through the gateway,
what they count, and the data they start from."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.notify_latency import Deliveries
from shared.transport.http1 import Client

USERS = 16
SEED_ARTICLES = 400
TARGETS = 4000  # users inserted straight into the database, to be followed
TAGS = ["soup", "salad", "bread", "pasta", "rice", "curry", "stew", "vegan", "fish", "cake"]
PASSWORD = "writes-bench-1"
TIME_LIMIT = 30.0


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
        # bench.notify_latency's record of answered writes, when it measures.
        self.deliveries: Deliveries | None = None

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
        slug = random.choice(self.slugs)
        status, data = await self.timed(
            stats,
            "POST",
            f"/api/articles/{slug}/comments",
            worker.token,
            {"comment": {"body": text}},
        )
        if status < 300:
            self.ledger.comments.append(text)
            if self.deliveries is not None and slug not in worker.own:
                comment_id = str(json.loads(data)["comment"]["id"])
                self.deliveries.write_answered(("commented", comment_id, ""))

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
        status, _ = await self.timed(stats, "POST", f"/api/articles/{slug}/favorite", worker.token)
        if status < 300 and self.deliveries is not None and slug not in worker.own:
            self.deliveries.write_answered(("favorited", worker.username, slug))
        await self.timed(stats, "DELETE", f"/api/articles/{slug}/favorite", worker.token)
        await self.comment(worker, stats)
        if worker.turn % 10 == 0:
            await self.create(worker, stats)


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
