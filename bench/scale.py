"""Read routes at growing data sets, loaded straight into the database by a bulk loader.

`python -m bench.scale [--sizes 3000,30000,300000] [--seconds 3] [--connections 4]` starts
the stack (embedded PostgreSQL and Valkey unless DATABASE_URL / REDIS_URL are set) and, for
each size in turn, grows the data set to that many articles with COPY (asyncpg's
`copy_records_to_table`, not through the API), with users, follows, likes and comments in the
proportions of the standard data set, and every derived fact the services keep recomputed
from the rows: like, per-user like and follow counters, tag counts, the search vectors (a
generated column), chat's users, members and message counters. Caches are then emptied (the
article cache, profiles, the social facts in Redis) and the tables analysed.

At each size it measures through the gateway, with wrk at a small fixed concurrency, median
and p99 latency and req/s of: the 20-article list, a deep page (offset=10000, where there are
that many articles, and the same page by its keyset cursor, `before=`), a tag, the feed of a
user who follows 10 and one who follows 500 authors, full-text search, one article, and the
history of a chat of CHAT_MESSAGES messages (the same chat at every size; another chat grows
with the data). Each route is measured with the
article cache as served (warm: pages are cached until an article changes) and with it off
(posts_service restarted with ARTICLE_CACHE=false: what a page costs after a write, since every
write makes every cached page stale), and each figure is printed with its ratio to the
smallest size. Routes slower than TARGET_RATIO x at the largest size get their statements'
EXPLAIN ANALYZE (every route with `--explain`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.request
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from argon2 import PasswordHasher

from bench import loadgen
from bench.harness import Bench, bench_environment
from bench.scale_data import (
    CHAT_MESSAGES,
    CHAT_OWNER,
    FEED_10,
    FEED_500,
    SEARCH_WORD,
    Loaded,
    grow,
)
from bench.seed import TAGS
from chat_service.queries.columns import MESSAGE_COLUMNS, MESSAGE_FROM
from posts_service import queries

DEFAULT_SIZES = (3000, 30000, 300000)
DEEP_OFFSET = 10_000
PASSWORD = "scale-bench-1"
TARGET_RATIO = 1.5
STACK_ENV = {
    "RATE_LIMIT_ANON": "0",
    "RATE_LIMIT_USER": "0",
    "DB_POOL_MAX": "10",
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_KIB": "1024",
    "ACCESS_TOKEN_TTL": "7200",
}


async def flush_caches(redis_url: str) -> int:
    """Removes the article cache, cached profiles and the published social facts (not the
    event streams)."""
    redis = aioredis.from_url(redis_url)
    removed = 0
    try:
        for pattern in ("articles:*", "profile:*", "sf:*"):
            batch = [key async for key in redis.scan_iter(pattern, count=1000)]
            for start in range(0, len(batch), 1000):
                removed += await redis.delete(*batch[start : start + 1000])
    finally:
        await redis.aclose()
    return removed


def login(gateway: str, user_id: int) -> str:
    body = json.dumps({"user": {"email": f"cook{user_id}@example.com", "password": PASSWORD}})
    request = urllib.request.Request(  # noqa: S310 - a local http URL
        f"{gateway}/api/users/login",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310 - local URL
        return str(json.load(response)["user"]["token"])


def deep_cursor(api: str) -> str:
    """The cursor that starts the same page as offset=DEEP_OFFSET."""
    url = f"{api}/articles?limit=20&offset={DEEP_OFFSET - 20}"
    with urllib.request.urlopen(url) as response:  # noqa: S310 - local URL
        return str(json.load(response)["nextCursor"])


def routes(gateway: str, loaded: Loaded) -> list[tuple[str, str, dict[str, str] | None]]:
    api = f"{gateway}/api"
    feed10 = {"Authorization": f"Token {login(gateway, FEED_10)}"}
    feed500 = {"Authorization": f"Token {login(gateway, FEED_500)}"}
    owner = {"Authorization": f"Token {login(gateway, CHAT_OWNER)}"}
    cases: list[tuple[str, str, dict[str, str] | None]] = [
        ("articles?limit=20", f"{api}/articles?limit=20", None),
    ]
    if loaded.articles >= DEEP_OFFSET + 20:
        cases.append(
            ("articles offset=10000", f"{api}/articles?limit=20&offset={DEEP_OFFSET}", None)
        )
        cursor = deep_cursor(api)
        cases.append(("articles before=(10000 deep)", f"{api}/articles?before={cursor}", None))
    cases += [
        (f"articles?tag={TAGS[0]}", f"{api}/articles?tag={TAGS[0]}", None),
        ("feed, follows 10", f"{api}/articles/feed", feed10),
        ("feed, follows 500", f"{api}/articles/feed", feed500),
        (f"search q={SEARCH_WORD}", f"{api}/articles?q={SEARCH_WORD}", None),
        ("one article", f"{api}/articles/recipe-{loaded.articles // 2}", None),
        (f"chat history ({CHAT_MESSAGES:,} msgs)", f"{api}/chats/{loaded.chat_id}/messages", owner),
    ]
    return cases


class _Recorder:
    """Stands in for a connection: keeps each statement posts_service's queries send (with
    no rows back, so that a page's count is asked for on its own too)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, str, list[Any]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.statements.append(("posts", sql, list(args)))
        return []

    async def fetchval(self, sql: str, *args: Any) -> int:
        self.statements.append(("posts", sql, list(args)))
        return 0


def _posts(call: Any) -> list[tuple[str, str, list[Any]]]:
    recorder = _Recorder()
    asyncio.run(call(recorder))
    return recorder.statements


def explain_statements(
    loaded: Loaded, database_url: str
) -> dict[str, list[tuple[str, str, list[Any]]]]:
    """Per route, the statements its page runs (posts_service's own queries, recorded; chat's
    as chat_service writes them), with the schema and parameters of the measured request."""
    tag = TAGS[0]
    deep = asyncio.run(_deep_position(database_url))
    return {
        "articles?limit=20": _posts(lambda c: queries.list_recent(c, 20, 0)),
        "articles offset=10000": _posts(lambda c: queries.list_recent(c, 20, DEEP_OFFSET)),
        "articles before=(10000 deep)": _posts(lambda c: queries.list_recent(c, 20, 0, deep)),
        f"articles?tag={tag}": _posts(lambda c: queries.list_by_tag(c, tag, 20, 0)),
        "feed, follows 10": _posts(
            lambda c: queries.list_by_authors(c, list(range(10, 20)), 20, 0)
        ),
        "feed, follows 500": _posts(
            lambda c: queries.list_by_authors(c, list(range(10, 510)), 20, 0)
        ),
        f"search q={SEARCH_WORD}": _posts(lambda c: queries.search(c, SEARCH_WORD, 20, 0)),
        f"chat history ({CHAT_MESSAGES:,} msgs)": [
            (
                "chat",
                f"""SELECT * FROM (SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
                WHERE m.chat_id = $1 AND ($2::bigint IS NULL OR m.seq < $2)
                AND (m.seq IS NOT NULL AND (m.expires_at IS NULL OR m.expires_at > now()))
                ORDER BY m.seq DESC LIMIT $3) page ORDER BY seq""",
                [loaded.chat_id, None, 20],
            ),
        ],
    }


async def _deep_position(database_url: str) -> queries.Position:
    """Where the page at offset=DEEP_OFFSET starts (the last article before it)."""
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(
            """SELECT created_at, id FROM posts.articles ORDER BY created_at DESC, id DESC
               LIMIT 1 OFFSET $1""",
            DEEP_OFFSET - 1,
        )
    finally:
        await connection.close()
    return row["created_at"], row["id"]


async def explain(database_url: str, statements: list[tuple[str, str, list[Any]]]) -> str:
    connection = await asyncpg.connect(database_url)
    out = []
    try:
        for schema, sql, params in statements:
            await connection.execute(f"SET search_path TO {schema}, public")
            plan = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *params)
            out.append("\n".join(f"    {row[0]}" for row in plan))
    finally:
        await connection.close()
    return "\n\n".join(out)


Measured = dict[tuple[str, str], loadgen.Result]  # (mode, route) -> result


def measure_all(
    cases: list[tuple[str, str, dict[str, str] | None]], mode: str, seconds: float, connections: int
) -> Measured:
    results: Measured = {}
    for name, url, headers in cases:
        loadgen.run(url, connections, 1, headers)  # warm-up (fills what is cached)
        results[(mode, name)] = loadgen.run(url, connections, seconds, headers)
        result = results[(mode, name)]
        print(
            f"  {mode:10} {name:28} {result.requests_per_second:7.0f}/s p50 "
            f"{result.median_ms:7.2f} ms p99 {result.p99_ms:7.2f} ms"
            + (f"  {result.errors} errors" if result.errors else ""),
            flush=True,
        )
    return results


def restart_posts(bench: Bench, ports: dict[str, int], cache: bool) -> None:
    bench.restart_service(
        "posts",
        ports["posts"],
        ports["gateway"],
        ARTICLE_CACHE="true" if cache else "false",
        AUTH_URL=f"http://127.0.0.1:{ports['auth']}",
        SOCIAL_URL=f"http://127.0.0.1:{ports['social']}",
        **STACK_ENV,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="articles per data set, comma-separated, growing (default %(default)s)",
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE every route at the largest size"
    )
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    loadgen.require_wrk()
    started = time.monotonic()
    password_hash = PasswordHasher(time_cost=1, memory_cost=1024).hash(PASSWORD)
    by_size: dict[int, Measured] = {}
    plans: dict[str, str] = {}
    with bench_environment() as bench:
        ports = bench.start_stack(**STACK_ENV)
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        database_url = bench.infra.database_url
        loaded = Loaded()
        for size in sizes:
            began = time.monotonic()
            print(f"loading {size:,} articles...", flush=True)
            asyncio.run(grow(database_url, loaded, size, password_hash))
            removed = asyncio.run(flush_caches(bench.infra.redis_url))
            print(
                f"loaded in {time.monotonic() - began:.0f} s ({loaded.users:,} users); "
                f"{removed} cached keys removed",
                flush=True,
            )
            cases = routes(gateway, loaded)
            results = measure_all(cases, "cache warm", args.seconds, args.connections)
            restart_posts(bench, ports, cache=False)
            results |= measure_all(cases, "cache off", args.seconds, args.connections)
            restart_posts(bench, ports, cache=True)
            by_size[size] = results
        largest = sizes[-1]
        statements = explain_statements(loaded, database_url)
        for (mode, name), result in by_size[largest].items():
            base = next(by_size[s][(mode, name)] for s in sizes if (mode, name) in by_size[s])
            slow = mode == "cache off" and result.median_ms / base.median_ms > TARGET_RATIO
            if (slow or args.explain) and name in statements and name not in plans:
                plans[name] = asyncio.run(explain(database_url, statements[name]))
    print(
        f"\nwrk at {args.connections} connections, {args.seconds:.0f} s per figure; ratios "
        f"to the smallest size that has the route; total run {time.monotonic() - started:.0f} s"
    )
    header = f"{'route':30} {'articles':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
    header += f" {'x p50':>6} {'x p99':>6} {'x req/s':>7}"
    for mode in ("cache warm", "cache off"):
        print(f"\n{mode}:\n{header}")
        names = list(dict.fromkeys(n for s in sizes for (m, n) in by_size[s] if m == mode))
        for name in names:
            present = [s for s in sizes if (mode, name) in by_size[s]]
            base = by_size[present[0]][(mode, name)]
            for size in present:
                r = by_size[size][(mode, name)]
                flag = ""
                if size != present[0] and r.median_ms / base.median_ms > TARGET_RATIO:
                    flag = "  > 1.5x"
                print(
                    f"{name:30} {size:8d} {r.requests_per_second:7.0f} {r.median_ms:7.2f} "
                    f"{r.p99_ms:7.2f} {r.median_ms / base.median_ms:6.2f} "
                    f"{r.p99_ms / base.p99_ms:6.2f} "
                    f"{r.requests_per_second / base.requests_per_second:7.2f}{flag}"
                    + (f"  {r.errors} errors" if r.errors else "")
                )
    if plans:
        which = "every route" if args.explain else f"the routes over {TARGET_RATIO}x"
        print(f"\nEXPLAIN ANALYZE at {largest:,} articles of {which}:")
        for name, plan in plans.items():
            print(f"\n{name}:\n{plan}")


if __name__ == "__main__":
    main()
