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
import random
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from argon2 import PasswordHasher

from bench import loadgen
from bench.harness import Bench, bench_environment
from bench.seed import TAGS
from chat_service.queries.columns import MESSAGE_COLUMNS, MESSAGE_FROM
from posts_service import queries

DEFAULT_SIZES = (3000, 30000, 300000)
USERS_PER_ARTICLE = 0.1  # the standard set: 50 users... here at least MIN_USERS
MIN_USERS = 600  # a user follows 500 authors
FOLLOWS_PER_USER = 10
LIKES_PER_ARTICLE = 2
COMMENTS_PER_ARTICLE = 0.5
CHAT_MESSAGES = 100_000
CHAT_MEMBERS = 100
DEEP_OFFSET = 10_000
PASSWORD = "scale-bench-1"
TARGET_RATIO = 1.5
SEARCH_WORD = "saffron"  # in about 2 % of the articles
STACK_ENV = {
    "RATE_LIMIT_ANON": "0",
    "RATE_LIMIT_USER": "0",
    "DB_POOL_MAX": "10",
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_KIB": "1024",
    "ACCESS_TOKEN_TTL": "7200",
}
# Users with fixed roles: who reads the feeds and who owns the measured chat.
FEED_10, FEED_500, CHAT_OWNER = 1, 2, 3
WORDS = [
    "chop",
    "stir",
    "taste",
    "simmer",
    "roast",
    "bake",
    "fry",
    "boil",
    "grill",
    "season",
    "whisk",
    "fold",
    "knead",
    "slice",
    "dice",
    "mince",
    "garlic",
    "onion",
    "tomato",
    "pepper",
    "butter",
    "flour",
    "sugar",
    "lemon",
    "ginger",
    "basil",
    "thyme",
    "rosemary",
    "cumin",
    "paprika",
    "cream",
    "cheese",
    "rice",
    "pasta",
    "bean",
    "lentil",
    "carrot",
    "potato",
    "spinach",
    "mushroom",
    "honey",
    "vinegar",
    "olive",
    "oil",
    "salt",
    "pan",
    "oven",
    "pot",
    "bowl",
    "crisp",
    "golden",
    "tender",
    "smoky",
    "fresh",
    "slow",
    "quick",
]
INGREDIENTS = [
    "chicken",
    "beef",
    "pork",
    "salmon",
    "tofu",
    "egg",
    "noodle",
    "couscous",
    "quinoa",
    "chickpea",
    "aubergine",
    "courgette",
    "pumpkin",
    "apple",
    "pear",
    "cherry",
    "almond",
    "walnut",
    "coconut",
    "chocolate",
    "vanilla",
    "cinnamon",
    "cardamom",
    "fennel",
    "leek",
    "celery",
    "cabbage",
    "kale",
    "broccoli",
    "cauliflower",
    "radish",
    "beetroot",
    "mango",
    "lime",
    "orange",
    "miso",
    "tahini",
    "yoghurt",
    "feta",
    "halloumi",
    "prawn",
    "mussel",
    "squid",
    "duck",
    "lamb",
    "turkey",
    "barley",
    "polenta",
]


@dataclass
class Loaded:
    articles: int = 0
    users: int = 0
    messages_other: int = 0
    chat_id: int = 0
    other_chat_id: int = 0


def users_for(articles: int) -> int:
    return max(MIN_USERS, int(articles * USERS_PER_ARTICLE))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


async def _copy(
    connection: asyncpg.Connection,
    table: str,
    schema: str,
    columns: list[str],
    records: list[tuple[Any, ...]],
) -> None:
    if records:
        await connection.copy_records_to_table(
            table, schema_name=schema, columns=columns, records=records
        )


async def grow(database_url: str, loaded: Loaded, articles: int, password_hash: str) -> None:
    """Adds rows up to `articles` articles, then recomputes every derived fact."""
    rng = random.Random(articles)
    connection = await asyncpg.connect(database_url)
    epoch = datetime(2025, 1, 1, tzinfo=UTC)
    try:
        users = users_for(articles)
        first_user = loaded.users + 1
        new_users = range(first_user, users + 1)
        await _copy(
            connection,
            "users",
            "auth",
            ["id", "username", "email", "password_hash", "created_at", "updated_at"],
            [
                (i, f"cook{i}", f"cook{i}@example.com", password_hash, epoch, epoch)
                for i in new_users
            ],
        )
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('auth.users', 'id'), $1)", users
        )
        await _copy(
            connection,
            "users",
            "chat",
            ["id", "username"],
            [(i, f"cook{i}") for i in new_users],
        )
        follows: set[tuple[int, int]] = set()
        if loaded.users == 0:
            follows |= {(FEED_10, b) for b in range(10, 20)}
            follows |= {(FEED_500, b) for b in range(10, 510)}
        for a in new_users:
            if a in (FEED_10, FEED_500):
                continue
            for b in rng.sample(range(1, users + 1), FOLLOWS_PER_USER):
                if a != b:
                    follows.add((a, b))
        await _copy(
            connection,
            "follows",
            "social",
            ["follower_id", "followee_id", "created_at"],
            [(a, b, epoch) for a, b in follows],
        )

        # Articles, newest last, one minute apart; the authors exclude the feed readers.
        first = loaded.articles + 1
        new_articles = range(first, articles + 1)
        rows = []
        tag_rows = []
        for i in new_articles:
            created = epoch + timedelta(minutes=i)
            main = rng.choice(INGREDIENTS)
            extra = SEARCH_WORD if rng.random() < 0.02 else rng.choice(INGREDIENTS)
            rows.append(
                (
                    i,
                    f"recipe-{i}",
                    f"Recipe {i}: {main} with {rng.choice(INGREDIENTS)}",
                    f"A {rng.choice(WORDS)} dish of {main}",
                    f"{_text(rng, 20)} {extra} {_text(rng, rng.randint(10, 40))}",
                    rng.randint(4, users),
                    rng.choice(["easy", "medium", "hard"]),
                    rng.randint(5, 240),
                    created,
                    created,
                )
            )
            for tag in rng.sample(range(1, len(TAGS) + 1), rng.randint(1, 3)):
                tag_rows.append((i, tag, created))
        await _copy(
            connection,
            "articles",
            "posts",
            [
                "id",
                "slug",
                "title",
                "description",
                "body",
                "author_id",
                "complexity",
                "cooking_minutes",
                "created_at",
                "updated_at",
            ],
            rows,
        )
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('posts.articles', 'id'), $1)", articles
        )
        if loaded.articles == 0:
            await connection.executemany(
                "INSERT INTO posts.tags (name) VALUES ($1)", [(t,) for t in TAGS]
            )
        await _copy(
            connection, "article_tags", "posts", ["article_id", "tag_id", "created_at"], tag_rows
        )
        likes = {
            (rng.choice(new_articles), rng.randint(1, users))
            for _ in range(len(new_articles) * LIKES_PER_ARTICLE)
        }
        await _copy(
            connection,
            "likes",
            "social",
            ["article_id", "user_id", "created_at"],
            [(a, u, epoch) for a, u in likes],
        )
        comments = int(len(new_articles) * COMMENTS_PER_ARTICLE)
        await _copy(
            connection,
            "comments",
            "posts",
            ["article_id", "author_id", "body", "created_at", "updated_at"],
            [
                (rng.choice(new_articles), rng.randint(1, users), _text(rng, 12), epoch, epoch)
                for _ in range(comments)
            ],
        )

        # Chat: the measured chat (CHAT_MESSAGES, once) and one that grows with the data.
        if loaded.chat_id == 0:
            loaded.chat_id = await connection.fetchval(
                """INSERT INTO chat.chats (kind, title, owner_id, private, last_seq)
                   VALUES ('group', 'scale', $1, false, $2) RETURNING id""",
                CHAT_OWNER,
                CHAT_MESSAGES,
            )
            loaded.other_chat_id = await connection.fetchval(
                """INSERT INTO chat.chats (kind, title, owner_id, private)
                   VALUES ('group', 'scale-other', $1, false) RETURNING id""",
                CHAT_OWNER,
            )
            members = range(CHAT_OWNER, CHAT_OWNER + CHAT_MEMBERS)
            for chat_id in (loaded.chat_id, loaded.other_chat_id):
                await _copy(
                    connection,
                    "chat_members",
                    "chat",
                    ["chat_id", "user_id", "role"],
                    [(chat_id, u, "owner" if u == CHAT_OWNER else "member") for u in members],
                )
            await _copy(
                connection,
                "messages",
                "chat",
                ["chat_id", "seq", "author_id", "body", "created_at"],
                [
                    (
                        loaded.chat_id,
                        seq,
                        rng.randrange(CHAT_OWNER, CHAT_OWNER + CHAT_MEMBERS),
                        _text(rng, 10),
                        epoch + timedelta(seconds=seq),
                    )
                    for seq in range(1, CHAT_MESSAGES + 1)
                ],
            )
        other = range(loaded.messages_other + 1, articles + 1)
        await _copy(
            connection,
            "messages",
            "chat",
            ["chat_id", "seq", "author_id", "body", "created_at"],
            [
                (
                    loaded.other_chat_id,
                    seq,
                    rng.randrange(CHAT_OWNER, CHAT_OWNER + CHAT_MEMBERS),
                    _text(rng, 10),
                    epoch + timedelta(seconds=seq),
                )
                for seq in other
            ],
        )
        await connection.execute(
            "UPDATE chat.chats SET last_seq = $2 WHERE id = $1", loaded.other_chat_id, articles
        )

        # Derived facts, recomputed from the rows.
        await connection.execute(
            """
            TRUNCATE social.like_counts, social.user_likes, social.follow_counts;
            INSERT INTO social.like_counts (article_id, likes)
                SELECT article_id, count(*) FROM social.likes GROUP BY 1;
            INSERT INTO social.user_likes (user_id, likes)
                SELECT user_id, count(*) FROM social.likes GROUP BY 1;
            INSERT INTO social.follow_counts (user_id, followers, following)
                SELECT user_id, sum(followers), sum(following) FROM (
                    SELECT followee_id AS user_id, 1 AS followers, 0 AS following
                    FROM social.follows
                    UNION ALL
                    SELECT follower_id, 0, 1 FROM social.follows) f
                GROUP BY 1;
            UPDATE posts.tags t SET article_count =
                (SELECT count(*) FROM posts.article_tags at WHERE at.tag_id = t.id);
            TRUNCATE posts.article_totals, posts.author_totals;
            INSERT INTO posts.article_totals (slot, articles)
                SELECT 0, count(*) FROM posts.articles;
            INSERT INTO posts.author_totals (author_id, articles)
                SELECT author_id, count(*) FROM posts.articles GROUP BY 1;
            """
        )
        # Versions above any the services published before: Redis is emptied anyway.
        await connection.execute(
            """UPDATE social.like_counts SET version = nextval('social.counter_versions');
               UPDATE social.follow_counts SET version = nextval('social.counter_versions');
               UPDATE social.user_likes SET version = nextval('social.counter_versions')"""
        )
        for table in (
            "auth.users",
            "social.follows",
            "social.likes",
            "social.like_counts",
            "social.follow_counts",
            "social.user_likes",
            "posts.articles",
            "posts.article_tags",
            "posts.tags",
            "posts.comments",
            "chat.messages",
            "chat.users",
            "chat.chat_members",
        ):
            await connection.execute(f"VACUUM ANALYZE {table}")
        loaded.articles, loaded.users, loaded.messages_other = articles, users, articles
    finally:
        await connection.close()


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
