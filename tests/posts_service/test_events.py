"""posts_service/events.py: what posts_service does with the events it consumes."""

from __future__ import annotations

import asyncio

import asyncpg
import redis.asyncio as aioredis

from shared.events import Event
from tests.posts_service.helpers import create
from tests.redis_text import entries
from tests.services import Users
from tests.typing import AppClient


async def test_user_deleted_removes_their_articles_and_comments(
    posts: AppClient, users: Users, redis: aioredis.Redis, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    slug = (await create(posts, users["anna"]))["slug"]
    jakes = (await create(posts, users["jake"], "Jake's stew"))["slug"]
    await posts.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "hi"}}, headers=users["jake"]
    )
    event = Event(
        "33333333-3333-3333-3333-333333333333",
        "user.deleted",
        "2026-11-23T00:00:00Z",
        "auth",
        1,
        {"id": users.ids["jake"]},
    )
    for _ in range(2):  # a redelivery changes nothing
        await redis.xadd("events:auth", event.to_fields())  # type: ignore[arg-type]
    for _ in range(200):
        if await db.fetchval("SELECT count(*) FROM posts.articles") == 1:
            break
        await asyncio.sleep(0.05)
    assert (await posts.get(f"/api/articles/{jakes}")).status == 404
    comments = await (await posts.get(f"/api/articles/{slug}/comments")).json()
    assert comments == {"comments": []}
    for _ in range(100):  # the relay publishes what the handler recorded
        deleted = [
            f for _, f in await entries(redis, "events:posts") if f["type"] == "article.deleted"
        ]
        if deleted:
            break
        await asyncio.sleep(0.05)
    assert len(deleted) == 1
