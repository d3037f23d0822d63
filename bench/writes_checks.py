"""What `bench.writes` checks after its load: nothing lost (every counter equals a recount, every
write answered 2xx stored once), and the round trips each operation costs."""

from __future__ import annotations

import asyncio
import os
import re
import time
import urllib.request
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from bench.writes_load import Bencher, Ledger, Op, Stats


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
