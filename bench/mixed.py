"""Reads while people write: 50 signed-in users in a closed loop, 90 % reads and 10 % writes,
against the same reads with no writes, measured in the same run.

`python -m bench.mixed [--seconds 20] [--articles 500] [--users 50]` starts the stack, seeds a
scaled standard data set (`bench/seed.py`; `--articles` of its 3,000, likes and comments in
proportion) and runs three phases of `--seconds` each: reads only, the mix, reads only again.
Each user waits for each answer before the next request (closed loop). The reads: the
article list anonymous and signed in, a tag, the feed, one article, a profile; the writes: a
like or its removal, a comment, a new article. After each new article its writer reads their
own list and checks the article is in it (read-your-writes: every miss is counted).

Per phase: reads/s and the reads' p50 and p99, per kind and in all, and the writes'; the
target is reads under the mix within 1.5x of their read-only p50 and 2x of their p99 (the
mean of the two read-only phases).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import uvloop

from bench.harness import bench_environment
from bench.seed import TAGS, Seeded, seed

READS = ("list anonymous", "list signed in", "tag", "feed", "one article", "profile")
WRITES = ("like", "comment", "new article")
WRITE_SHARE = 0.10
WRITE_WEIGHTS = (5, 3, 2)  # like (or unlike), comment, new article
STACK_ENV = {"RATE_LIMIT_ANON": "0", "RATE_LIMIT_USER": "0", "DB_POOL_MAX": "10"}
TARGET_P50 = 1.5
TARGET_P99 = 2.0


def percentile(ordered: Sequence[float], share: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Tally:
    """What one phase measured: latencies in ms by kind, errors, read-your-writes misses."""

    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stale_own_reads: int = 0

    def reads(self) -> list[float]:
        return sorted(ms for kind in READS for ms in self.latencies.get(kind, ()))

    def writes(self) -> list[float]:
        return sorted(ms for kind in WRITES for ms in self.latencies.get(kind, ()))


class Load:
    """The users' loop: `run` one phase at a time, reads only or the mix."""

    def __init__(self, gateway: str, seeded: Seeded, rng_seed: int = 11) -> None:
        self.gateway = gateway
        self.names = list(seeded.tokens)
        self.tokens = seeded.tokens
        self.slugs = list(seeded.slugs)
        self.rng = random.Random(rng_seed)
        self.counter = 0

    async def run(
        self,
        session: aiohttp.ClientSession,
        users: int,
        seconds: float,
        writes: bool,
        tally: Tally | None = None,
    ) -> Tally:
        tally = tally or Tally()
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(
            *(
                self._user(session, self.names[i % len(self.names)], deadline, writes, tally)
                for i in range(users)
            )
        )
        tally.seconds += time.monotonic() - started
        return tally

    async def _user(
        self,
        session: aiohttp.ClientSession,
        name: str,
        deadline: float,
        writes: bool,
        tally: Tally,
    ) -> None:
        auth = {"Authorization": f"Token {self.tokens[name]}"}
        rng = random.Random(self.rng.random())
        while time.monotonic() < deadline:
            if writes and rng.random() < WRITE_SHARE:
                kind = rng.choices(WRITES, WRITE_WEIGHTS)[0]
                slug = await self._timed(session, tally, kind, *self._write(kind, name, rng), auth)
                if kind == "new article" and slug:
                    self.slugs.append(slug)
                    await self._own_read(session, tally, name, slug, auth)
            else:
                kind = rng.choice(READS)
                method, path = self._read(kind, rng)
                headers = {} if kind == "list anonymous" else auth
                await self._timed(session, tally, kind, method, path, None, headers)

    def _read(self, kind: str, rng: random.Random) -> tuple[str, str]:
        if kind in ("list anonymous", "list signed in"):
            return "GET", "/api/articles?limit=20"
        if kind == "tag":
            return "GET", f"/api/articles?tag={rng.choice(TAGS)}"
        if kind == "feed":
            return "GET", "/api/articles/feed"
        if kind == "one article":
            return "GET", f"/api/articles/{rng.choice(self.slugs)}"
        return "GET", f"/api/profiles/{rng.choice(self.names)}"

    def _write(self, kind: str, name: str, rng: random.Random) -> tuple[str, str, Any]:
        slug = rng.choice(self.slugs)
        if kind == "like":
            return rng.choice(("POST", "DELETE")), f"/api/articles/{slug}/favorite", None
        if kind == "comment":
            body = {"comment": {"body": f"Made it tonight, {name}."}}
            return "POST", f"/api/articles/{slug}/comments", body
        self.counter += 1
        article = {
            "title": f"Mixed {self.counter} by {name}",
            "description": "written under the mixed load",
            "body": "Chop, stir and taste. " * 20,
            "tagList": rng.sample(TAGS, 2),
        }
        return "POST", "/api/articles", {"article": article}

    async def _timed(
        self,
        session: aiohttp.ClientSession,
        tally: Tally,
        kind: str,
        method: str,
        path: str,
        body: Any,
        headers: dict[str, str],
    ) -> str | None:
        """One request; its latency in the tally (errors apart); a new article's slug."""
        started = time.perf_counter()
        try:
            async with session.request(
                method, self.gateway + path, json=body, headers=headers
            ) as response:
                data = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            tally.errors[kind] += 1
            return None
        elapsed = (time.perf_counter() - started) * 1000.0
        if status >= 500 or status in (401, 403, 429):
            tally.errors[kind] += 1
            return None
        tally.latencies[kind].append(elapsed)
        if kind == "new article" and status == 201:
            return str(orjson.loads(data)["article"]["slug"])
        return None

    async def _own_read(
        self,
        session: aiohttp.ClientSession,
        tally: Tally,
        name: str,
        slug: str,
        auth: dict[str, str],
    ) -> None:
        """The writer reads the first page of the recent list and of their own: their new
        article must be in both (pages are cached; the write moved their versions)."""
        for path in ("/api/articles?limit=20", f"/api/articles?author={name}&limit=20"):
            async with session.get(self.gateway + path, headers=auth) as response:
                page = await response.json()
            if slug not in {article["slug"] for article in page.get("articles", ())}:
                tally.stale_own_reads += 1


def summary(name: str, tally: Tally) -> str:
    reads, writes = tally.reads(), tally.writes()
    line = (
        f"{name:16} reads/s {len(reads) / tally.seconds:7.0f}  p50 {percentile(reads, 0.5):6.1f}"
        f"  p99 {percentile(reads, 0.99):6.1f} ms"
    )
    if writes:
        line += (
            f"  | writes/s {len(writes) / tally.seconds:5.0f}  p50 {percentile(writes, 0.5):6.1f}"
            f"  p99 {percentile(writes, 0.99):6.1f} ms"
        )
    errors = sum(tally.errors.values())
    line += f"  errors {errors}"
    if tally.stale_own_reads:
        line += f"  READ-YOUR-WRITES MISSES {tally.stale_own_reads}"
    return line


def by_kind(phases: dict[str, Tally]) -> str:
    names = list(phases)
    header = f"{'kind':16}" + "".join(f" {name + ' p50/p99 ms':>28}" for name in names)
    lines = [header]
    for kind in (*READS, *WRITES):
        cells = []
        for name in names:
            values = sorted(phases[name].latencies.get(kind, ()))
            p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
            cells.append(
                f" {p50:8.1f} / {p99:7.1f} ({len(values):6d})" if values else f" {'-':>28}"
            )
        lines.append(f"{kind:16}" + "".join(cells))
    return "\n".join(lines)


def verdict(phases: dict[str, Tally]) -> str:
    read_only = [phases["reads only"], phases["reads only 2"]]
    mixed = phases["mix"].reads()
    base_p50 = sum(percentile(t.reads(), 0.5) for t in read_only) / 2
    base_p99 = sum(percentile(t.reads(), 0.99) for t in read_only) / 2
    p50, p99 = percentile(mixed, 0.5) / base_p50, percentile(mixed, 0.99) / base_p99
    base_rate = sum(len(t.reads()) / t.seconds for t in read_only) / 2
    rate = len(mixed) / phases["mix"].seconds
    stale = sum(t.stale_own_reads for t in phases.values())
    met = p50 <= TARGET_P50 and p99 <= TARGET_P99 and stale == 0
    return (
        f"reads under the mix / reads only: p50 {p50:.2f}x (target <= {TARGET_P50}), "
        f"p99 {p99:.2f}x (target <= {TARGET_P99}), reads/s {rate / base_rate:.2f}x; "
        f"read-your-writes misses {stale} (target 0): "
        + ("targets met" if met else "targets MISSED")
    )


async def measure(gateway: str, seeded: Seeded, users: int, seconds: float) -> dict[str, Tally]:
    load = Load(gateway, seeded)
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        # Warm: every list and tag once, unrecorded.
        await load.run(session, users, min(5.0, seconds), writes=False)
        phases: dict[str, Tally] = {}
        for name, writes in (("reads only", False), ("mix", True), ("reads only 2", False)):
            phases[name] = await load.run(session, users, seconds, writes)
            print(summary(name, phases[name]), flush=True)
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mixed")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    with bench_environment() as bench:
        ports = bench.start_stack(**STACK_ENV)
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        print(f"seeding {args.articles} articles...", flush=True)
        seeded = asyncio.run(seed(gateway, articles=args.articles))
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            phases = runner.run(measure(gateway, seeded, args.users, args.seconds))
    print(
        f"\n{args.users} signed-in users, closed loop, {args.seconds:.0f} s per phase, "
        f"{WRITE_SHARE:.0%} writes in the mix (like or unlike, comment, new article "
        f"{WRITE_WEIGHTS[0]}:{WRITE_WEIGHTS[1]}:{WRITE_WEIGHTS[2]}); {args.articles} articles "
        "seeded; one client process"
    )
    print(by_kind(phases))
    print(verdict(phases))


if __name__ == "__main__":
    main()
