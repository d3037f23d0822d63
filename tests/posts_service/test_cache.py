"""posts_service/cache.py: the article cache, and every route without Redis."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis

from posts_service.keys import READS
from tests.posts_service.helpers import create, get_json
from tests.services import Users
from tests.typing import AppClient


async def test_every_route_still_answers_with_redis_down(
    posts: AppClient, users: Users, redis: aioredis.Redis
) -> None:
    await users.add("jake")
    slug = (await create(posts, users["jake"], tagList=["soup"]))["slug"]
    await posts.get("/api/articles")
    app = posts.app

    # Point the cache at a closed port: every cache call fails as with Redis down.
    dead = aioredis.from_url(
        "redis://127.0.0.1:1/0", decode_responses=True, socket_connect_timeout=0.2
    )
    articles = app[READS]
    articles.cache.cache.redis = dead
    articles.profiles.cache.redis = dead
    try:
        listing = await (await posts.get("/api/articles")).json()
        assert listing["articlesCount"] == 1
        assert (await posts.get(f"/api/articles/{slug}")).status == 200
        assert (await (await posts.get("/api/tags")).json()) == {"tags": ["soup"]}
        update = await posts.put(
            f"/api/articles/{slug}", json={"article": {"body": "New"}}, headers=users["jake"]
        )
        assert update.status == 200
        fresh = await (await posts.get(f"/api/articles/{slug}")).json()
        assert fresh["article"]["body"] == "New"
    finally:
        await dead.aclose()


async def test_a_cached_article_outlives_other_articles_writes(
    posts: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    slug = (await create(posts, users["jake"], "Soup"))["slug"]
    other = (await create(posts, users["jake"], "Cake"))["slug"]
    await get_json(posts, f"/api/articles/{slug}")  # cached
    # Changed behind the service's back: a read that goes to the database would show it.
    await db.execute("UPDATE posts.articles SET description = 'changed' WHERE slug = $1", slug)
    await create(posts, users["jake"], "Bread")
    await posts.put(
        f"/api/articles/{other}", json={"article": {"body": "Bake."}}, headers=users["jake"]
    )
    cached = await get_json(posts, f"/api/articles/{slug}")
    assert cached["article"]["description"] == "A warm classic"
    # A write to the article itself is seen at once.
    await posts.put(
        f"/api/articles/{slug}", json={"article": {"body": "Simmer."}}, headers=users["jake"]
    )
    fresh = await get_json(posts, f"/api/articles/{slug}")
    assert (fresh["article"]["description"], fresh["article"]["body"]) == ("changed", "Simmer.")
