"""Likes through the internal routes, the page summary, and clean-up after events."""

import asyncio

import asyncpg
import redis.asyncio as aioredis

from shared.events import Event
from tests.redis_text import entries
from tests.services import Users
from tests.typing import AppClient
from tests.waiting import until


async def test_likes_are_idempotent_both_ways(social: AppClient) -> None:
    for _ in range(2):
        liked = await (await social.put("/internal/likes/10/1")).json()
    assert liked == {"articleId": 10, "favorited": True, "favoritesCount": 1}
    for _ in range(2):
        unliked = await (await social.delete("/internal/likes/10/1")).json()
    assert unliked == {"articleId": 10, "favorited": False, "favoritesCount": 0}


async def test_a_hundred_concurrent_likes_count_a_hundred(social: AppClient) -> None:
    responses = await asyncio.gather(
        *(social.put(f"/internal/likes/77/{user_id}") for user_id in range(1, 101))
    )
    assert {r.status for r in responses} == {200}
    summary = await (
        await social.post("/internal/summary", json={"articleIds": [77], "viewerId": 5})
    ).json()
    assert summary["articles"]["77"] == {"favoritesCount": 100, "favorited": True}


async def test_the_summary_answers_a_page_with_mixed_states(
    social: AppClient, users: Users
) -> None:
    await users.add("jake", "anna", "ben")
    await social.post("/api/profiles/anna/follow", headers=users["jake"])
    await social.put(f"/internal/likes/1/{users.ids['jake']}")
    await social.put(f"/internal/likes/1/{users.ids['anna']}")
    await social.put(f"/internal/likes/2/{users.ids['anna']}")
    body = {
        "articleIds": [1, 2, 3],
        "authorIds": [users.ids["anna"], users.ids["ben"]],
        "viewerId": users.ids["jake"],
    }
    summary = await (await social.post("/internal/summary", json=body)).json()
    assert summary["articles"] == {
        "1": {"favoritesCount": 2, "favorited": True},
        "2": {"favoritesCount": 1, "favorited": False},
        "3": {"favoritesCount": 0, "favorited": False},
    }
    assert summary["authors"] == {
        str(users.ids["anna"]): {"following": True, "followersCount": 1, "followingCount": 0},
        str(users.ids["ben"]): {"following": False, "followersCount": 0, "followingCount": 0},
    }
    anonymous = await (
        await social.post(
            "/internal/summary", json={"articleIds": [1], "authorIds": [users.ids["anna"]]}
        )
    ).json()
    assert anonymous["articles"]["1"]["favorited"] is False
    assert anonymous["authors"][str(users.ids["anna"])]["following"] is False


async def test_a_summary_of_too_many_ids_is_422(social: AppClient) -> None:
    response = await social.post("/internal/summary", json={"articleIds": list(range(101))})
    assert response.status == 422


async def test_liked_and_following_ids_for_filters_and_the_feed(
    social: AppClient, users: Users
) -> None:
    await users.add("jake", "anna", "ben")
    for name in ("anna", "ben"):
        await social.post(f"/api/profiles/{name}/follow", headers=users["jake"])
    await social.put(f"/internal/likes/5/{users.ids['jake']}")
    await social.put(f"/internal/likes/6/{users.ids['jake']}")
    following = await (
        await social.get(f"/internal/users/{users.ids['jake']}/following-ids")
    ).json()
    assert sorted(following["ids"]) == sorted([users.ids["anna"], users.ids["ben"]])
    liked = await (
        await social.get(f"/internal/users/{users.ids['jake']}/liked-article-ids")
    ).json()
    assert liked["ids"] == [6, 5]


async def publish(redis: aioredis.Redis, producer: str, event: Event) -> None:
    await redis.xadd(f"events:{producer}", event.to_fields())  # type: ignore[arg-type]


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
