"""social_service/events.py: the events social_service consumes and those it publishes."""

import asyncio

import asyncpg
import redis.asyncio as aioredis

from shared.events import Event
from tests.redis_text import entries
from tests.services import Users
from tests.typing import AppClient
from tests.waiting import until


async def publish(redis: aioredis.Redis, producer: str, event: Event) -> None:
    await redis.xadd(f"events:{producer}", event.to_fields())  # type: ignore[arg-type]


async def test_a_renamed_user_is_found_by_the_new_name_once_the_event_arrives(
    social: AppClient, users: Users, auth_client: AppClient, redis: aioredis.Redis
) -> None:
    await users.add("jake")
    assert (await social.get("/api/profiles/jake")).status == 200  # now cached
    renamed = await auth_client.put(
        "/api/user", json={"user": {"username": "jacob", "bio": "chef"}}, headers=users["jake"]
    )
    assert renamed.status == 200
    for _ in range(100):
        response = await social.get("/api/profiles/jacob")
        if response.status == 200 and (await response.json())["profile"]["bio"] == "chef":
            break
        await asyncio.sleep(0.05)
    assert (await response.json())["profile"]["bio"] == "chef"
    assert (await social.get("/api/profiles/jake")).status == 404


async def test_user_deleted_removes_their_follows_and_likes_and_fixes_counts(
    social: AppClient, users: Users, redis: aioredis.Redis, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna", "ben")
    jake = users.ids["jake"]
    await social.post("/api/profiles/anna/follow", headers=users["jake"])
    await social.post("/api/profiles/jake/follow", headers=users["ben"])
    await social.put(f"/internal/likes/9/{jake}")
    await social.put(f"/internal/likes/9/{users.ids['anna']}")
    event = Event(
        "11111111-1111-1111-1111-111111111111",
        "user.deleted",
        "2026-11-23T00:00:00Z",
        "auth",
        1,
        {"id": jake},
    )
    await publish(redis, "auth", event)
    await publish(redis, "auth", event)  # delivered twice: applied once

    async def cleaned() -> bool:
        return bool(await db.fetchval("SELECT count(*) FROM social.follows") == 0)

    await until(cleaned)
    await asyncio.sleep(0.3)
    counts = {
        row["user_id"]: (row["followers"], row["following"])
        for row in await db.fetch("SELECT * FROM social.follow_counts")
    }
    assert counts[users.ids["anna"]] == (0, 0)
    assert counts[users.ids["ben"]] == (0, 0)
    assert jake not in counts
    summary = await (await social.post("/internal/summary", json={"articleIds": [9]})).json()
    assert summary["articles"]["9"]["favoritesCount"] == 1


async def test_article_deleted_removes_its_likes(
    social: AppClient, redis: aioredis.Redis, db: asyncpg.Connection
) -> None:
    await social.put("/internal/likes/42/1")
    await social.put("/internal/likes/42/2")
    event = Event(
        "22222222-2222-2222-2222-222222222222",
        "article.deleted",
        "2026-11-23T00:00:00Z",
        "posts",
        1,
        {"id": 42},
    )
    await publish(redis, "posts", event)

    async def gone() -> bool:
        count = await db.fetchval("SELECT count(*) FROM social.likes WHERE article_id = 42")
        return bool(count == 0)

    await until(gone)
    assert await db.fetchval("SELECT count(*) FROM social.like_counts WHERE article_id = 42") == 0


async def test_follows_and_likes_publish_events(
    social: AppClient, users: Users, redis: aioredis.Redis
) -> None:
    await users.add("jake", "anna")
    await social.post("/api/profiles/anna/follow", headers=users["jake"])
    await social.put("/internal/likes/3/1")

    async def published() -> bool:
        return int(await redis.xlen("events:social")) >= 2

    await until(published)
    types = [fields["type"] for _, fields in await entries(redis, "events:social")]
    assert types == ["follow.added", "like.added"]
