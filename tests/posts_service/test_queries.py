"""posts_service/queries.py: counters kept exact by the database, one statement per new article,
list queries served by indexes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from posts_service import queries
from shared.events import Event
from tests.posts_service.helpers import create, get_json
from tests.redis_text import entries
from tests.services import Users
from tests.typing import AppClient


class Explaining:
    """Stands in for a connection: runs EXPLAIN for each statement and keeps the plans."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.plans: list[str] = []

    async def _explain(self, sql: str, args: tuple[Any, ...]) -> None:
        rows = await self.connection.fetch(f"EXPLAIN {sql}", *args)
        self.plans.append("\n".join(row[0] for row in rows))

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        await self._explain(sql, args)
        return []

    async def fetchval(self, sql: str, *args: Any) -> int:
        await self._explain(sql, args)
        return 0


@pytest.fixture
async def many_articles(db: asyncpg.Connection) -> asyncpg.Connection:
    await db.execute("SET search_path TO posts, public")
    await db.execute(
        """INSERT INTO articles (slug, title, description, body, author_id, created_at)
           SELECT 'article-' || n, 'Recipe number ' || n, 'A dish of the day',
                  repeat('Chop, stir and taste. ', 40) || CASE WHEN n % 97 = 0 THEN ' saffron' ELSE '' END,
                  n % 200 + 1, now() - n * interval '1 minute'
           FROM generate_series(1, 10000) AS n"""
    )
    await db.execute(
        "INSERT INTO tags (name, article_count) SELECT 'tag' || n, 500 FROM generate_series(1, 20) n"
    )
    await db.execute(
        """INSERT INTO article_tags (article_id, tag_id, created_at)
           SELECT a.id, (a.id % 20) + 1, a.created_at FROM articles a"""
    )
    await db.execute("VACUUM ANALYZE articles, tags, article_tags")
    return db


# Each list query of the service with realistic arguments: (what it serves, the call).
LIST_QUERIES: list[tuple[str, Any]] = [
    ("recent", lambda c: queries.list_recent(c, 20, 0)),
    ("recent, deep page", lambda c: queries.list_recent(c, 20, 2000)),
    ("recent, by cursor", lambda c: queries.list_recent(c, 20, 0, (datetime.now(UTC), 5000))),
    ("by tag, by cursor", lambda c: queries.list_by_tag(c, "tag7", 20, 0, (datetime.now(UTC), 1))),
    ("by tag", lambda c: queries.list_by_tag(c, "tag7", 20, 0)),
    ("by author", lambda c: queries.list_by_authors(c, [42], 20, 0)),
    ("feed of 30 authors", lambda c: queries.list_by_authors(c, list(range(1, 31)), 20, 0)),
    ("favorited", lambda c: queries.list_by_ids(c, list(range(1, 500, 7)), 20, 0)),
    ("search", lambda c: queries.search(c, "saffron", 20, 0)),
    ("tags", lambda c: queries.popular_tags(c, 100)),
]


async def test_a_new_article_is_stored_with_its_tags_and_one_event_even_when_its_slug_was_taken(
    posts: AppClient, users: Users, redis: aioredis.Redis, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    first = await create(posts, users["jake"], title="Pea soup", tagList=["soup", "green"])
    second = await create(posts, users["jake"], title="Pea soup", tagList=["soup"])
    assert first["slug"] == "pea-soup" and second["slug"] != "pea-soup"  # taken: retried
    counts = dict(await db.fetch("SELECT name, article_count FROM posts.tags"))
    assert counts == {"soup": 2, "green": 1}
    linked = await db.fetchval(
        """SELECT count(*) FROM posts.article_tags l JOIN posts.articles a ON a.id = l.article_id
           WHERE l.created_at = a.created_at"""
    )
    assert linked == 3
    rows = await db.fetch("SELECT id, slug, title FROM posts.articles ORDER BY id")
    expected = [
        {"id": row["id"], "slug": row["slug"], "authorId": users.ids["jake"], "title": row["title"]}
        for row in rows
    ]
    for _ in range(100):  # the relay publishes what the insert recorded, once per article
        created = [
            Event.from_fields(f).data
            for _, f in await entries(redis, "events:posts")
            if f["type"] == "article.created"
        ]
        if len(created) >= 2:
            break
        await asyncio.sleep(0.05)
    assert created == expected


async def test_counts_stay_exact_through_concurrent_creates_and_deletes(
    posts: AppClient, social: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna", "ben")
    authors = ["anna", "ben"] * 10
    created = await asyncio.gather(
        *(create(posts, users[name], f"Dish {i}") for i, name in enumerate(authors))
    )
    gone = [(authors[i], created[i]["slug"]) for i in range(0, 20, 3)]  # 4 of anna, 3 of ben
    answers = await asyncio.gather(
        *(posts.delete(f"/api/articles/{slug}", headers=users[name]) for name, slug in gone)
    )
    assert [answer.status for answer in answers] == [204] * len(gone)
    everything = await get_json(posts, "/api/articles", params={"limit": "1"})
    assert everything["articlesCount"] == 13
    annas = await get_json(posts, "/api/articles", params={"author": "anna"})
    assert (annas["articlesCount"], len(annas["articles"])) == (6, 6)
    await social.post("/api/profiles/ben/follow", headers=users["jake"])
    feed = await get_json(posts, "/api/articles/feed", headers=users["jake"])
    assert (feed["articlesCount"], len(feed["articles"])) == (7, 7)
    await db.execute("SET search_path TO posts, public")
    assert await db.fetchval("SELECT sum(articles) FROM article_totals") == await db.fetchval(
        "SELECT count(*) FROM articles"
    )
    per_author = await db.fetch(
        """SELECT t.author_id, t.articles, count(a.id) AS counted
           FROM author_totals t LEFT JOIN articles a ON a.author_id = t.author_id
           GROUP BY t.author_id, t.articles"""
    )
    assert [row["articles"] for row in per_author] == [row["counted"] for row in per_author]


async def test_list_queries_never_scan_the_articles_table(
    many_articles: asyncpg.Connection,
) -> None:
    # One data set for all queries: loading 10,000 articles is the slow part.
    for name, call in LIST_QUERIES:
        explaining = Explaining(many_articles)
        await call(explaining)
        assert explaining.plans, name
        for plan in explaining.plans:
            assert "Seq Scan on articles" not in plan, f"{name}:\n{plan}"


async def test_skipped_and_tagged_rows_are_read_from_indexes_in_order(
    many_articles: asyncpg.Connection,
) -> None:
    # A deep page skips index entries only (the columns and tags are read for its 20 rows),
    # and a tag's page is read in index order rather than sorted.
    deep = Explaining(many_articles)
    await queries.list_recent(deep, 20, 2000)
    assert "Index Only Scan using articles_newest" in deep.plans[0], deep.plans[0]
    tagged = Explaining(many_articles)
    await queries.list_by_tag(tagged, "tag7", 20, 0)
    assert "Sort Key: at.created_at" not in tagged.plans[0], tagged.plans[0]
    assert "article_tags_by_tag" in tagged.plans[0], tagged.plans[0]
