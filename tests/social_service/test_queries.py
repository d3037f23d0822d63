"""social_service/queries.py: counters kept exact by the database under concurrent writes."""

import asyncio
import random

import asyncpg
import redis.asyncio as aioredis

from shared.contracts.social_facts import SocialFacts
from tests.services import Users
from tests.social_service.helpers import seen_by
from tests.typing import AppClient

# Each counter against a recount of its rows; a row the recount lacks must hold zero.
RECOUNTS = {
    "like_counts": """
        SELECT count(*) FROM social.like_counts c
        FULL JOIN (SELECT article_id, count(*) AS n FROM social.likes GROUP BY 1) r
        USING (article_id) WHERE coalesce(c.likes, 0) <> coalesce(r.n, 0)""",
    "user_likes": """
        SELECT count(*) FROM social.user_likes c
        FULL JOIN (SELECT user_id, count(*) AS n FROM social.likes GROUP BY 1) r
        USING (user_id) WHERE coalesce(c.likes, 0) <> coalesce(r.n, 0)""",
    "follow_counts": """
        SELECT count(*) FROM social.follow_counts c
        FULL JOIN (
            SELECT user_id, sum(followers) AS followers, sum(following) AS following FROM (
                SELECT followee_id AS user_id, 1 AS followers, 0 AS following
                FROM social.follows
                UNION ALL SELECT follower_id, 0, 1 FROM social.follows) f
            GROUP BY 1) r USING (user_id)
        WHERE coalesce(c.followers, 0) <> coalesce(r.followers, 0)
           OR coalesce(c.following, 0) <> coalesce(r.following, 0)""",
}


async def wrong_counters(db: asyncpg.Connection) -> dict[str, int]:
    return {name: int(await db.fetchval(sql)) for name, sql in RECOUNTS.items()}


async def test_a_hundred_concurrent_likes_count_a_hundred(social: AppClient) -> None:
    responses = await asyncio.gather(
        *(social.put(f"/internal/likes/77/{user_id}") for user_id in range(1, 101))
    )
    assert {r.status for r in responses} == {200}
    summary = await (
        await social.post("/internal/summary", json={"articleIds": [77], "viewerId": 5})
    ).json()
    assert summary["articles"]["77"] == {"favoritesCount": 100, "favorited": True}


async def test_concurrent_likes_and_unlikes_of_one_article_keep_every_counter_exact(
    social: AppClient, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    await asyncio.gather(*(social.put(f"/internal/likes/5/{user}") for user in range(1, 61)))
    # Half of them take theirs back while the others like again (repeats that change nothing).
    changes = [social.delete(f"/internal/likes/5/{user}") for user in range(1, 31)]
    changes += [social.put(f"/internal/likes/5/{user}") for user in range(31, 61)]
    responses = await asyncio.gather(*changes)
    assert {r.status for r in responses} == {200}
    assert await wrong_counters(db) == {"like_counts": 0, "user_likes": 0, "follow_counts": 0}
    assert await db.fetchval("SELECT likes FROM social.like_counts WHERE article_id = 5") == 30
    counts = await SocialFacts(redis).read([5], [])
    assert counts is not None and counts.likes == {5: 30}


async def test_a_like_and_unlike_race_of_one_user_leaves_counts_and_sets_true(
    social: AppClient, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    facts = SocialFacts(redis)
    await seen_by(social, facts, 1, [1])  # the user's sets are published before the race
    rng = random.Random(7)
    races = [
        social.put(f"/internal/likes/{a}/1")
        if rng.random() < 0.5
        else social.delete(f"/internal/likes/{a}/1")
        for a in (rng.randint(1, 4) for _ in range(80))
    ]
    responses = await asyncio.gather(*races)
    assert {r.status for r in responses} == {200}
    assert await wrong_counters(db) == {"like_counts": 0, "user_likes": 0, "follow_counts": 0}
    liked = {r["article_id"] for r in await db.fetch("SELECT article_id FROM social.likes")}
    counts = await seen_by(social, facts, 1, [1, 2, 3, 4])
    assert counts.liked & {1, 2, 3, 4} == liked
    likes = await db.fetch("SELECT article_id, likes FROM social.like_counts")
    assert {a: n for a, n in counts.likes.items() if n} == {r[0]: r[1] for r in likes if r[1]}


async def test_concurrent_follows_and_unfollows_keep_follow_counts_exact(
    social: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    names = ["cook0", "cook1", "cook2", "cook3"]
    await users.add(*names)
    rng = random.Random(3)
    pairs = [(a, b) for a in names for b in names if a != b]
    changes = []
    for _ in range(60):
        follower, followee = rng.choice(pairs)
        verb = social.post if rng.random() < 0.6 else social.delete
        changes.append(verb(f"/api/profiles/{followee}/follow", headers=users[follower]))
    responses = await asyncio.gather(*changes)
    assert {r.status for r in responses} == {200}
    assert await wrong_counters(db) == {"like_counts": 0, "user_likes": 0, "follow_counts": 0}
