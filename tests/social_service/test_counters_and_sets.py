"""Counters under concurrent changes, and the published sets a reader sees after each write."""

import asyncio
import random

import asyncpg
import redis.asyncio as aioredis

from shared.contracts.social_facts import Counts, SocialFacts
from tests.services import Users
from tests.typing import AppClient
from tests.waiting import until

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


async def seen_by(
    social: AppClient, facts: SocialFacts, viewer: int, article_ids: list[int]
) -> Counts:
    """What posts_service shows the viewer: the published facts, or, when one is missing,
    social's summary, which fills them; then the facts must be there. (Asked again for a
    few seconds: on a busy machine a slow Redis call opens a client's breaker for a moment,
    and a read meanwhile finds nothing, as it is meant to.)"""

    async def read() -> Counts | None:
        counts = await facts.read(article_ids, [], viewer)
        if counts is None:
            body = {"articleIds": article_ids, "viewerId": viewer}
            assert (await social.post("/internal/summary", json=body)).status == 200
            counts = await facts.read(article_ids, [], viewer)
        return counts

    return await until(read, timeout=10, every=0.5)


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


async def test_the_liker_sees_a_like_at_once_and_an_unlike_at_once(
    social: AppClient, redis: aioredis.Redis
) -> None:
    facts = SocialFacts(redis)
    assert (await seen_by(social, facts, 1, [8])).liked == frozenset()
    for liked in ([8], [8, 9]):
        await social.put(f"/internal/likes/{liked[-1]}/1")
        counts = await facts.read(liked, [], 1)  # no fill between: the write published it
        assert counts is not None and counts.liked == frozenset(liked)
    await social.delete("/internal/likes/8/1")
    counts = await facts.read([8, 9], [], 1)
    assert counts is not None
    assert (counts.liked, counts.likes) == (frozenset({9}), {8: 0, 9: 1})


async def test_a_follower_sees_a_follow_at_once_in_the_published_set(
    social: AppClient, users: Users, redis: aioredis.Redis
) -> None:
    await users.add("jake", "anna", "ben")
    facts = SocialFacts(redis)
    jake = users.ids["jake"]
    await social.get(f"/internal/users/{jake}/following-ids")  # fills the published set
    for name in ("anna", "ben"):
        await social.post(f"/api/profiles/{name}/follow", headers=users["jake"])
    following = await facts.following_of(jake)
    assert following is not None
    assert sorted(following.ids) == sorted([users.ids["anna"], users.ids["ben"]])
    await social.delete("/api/profiles/anna/follow", headers=users["jake"])
    following = await facts.following_of(jake)
    assert following is not None and following.ids == [users.ids["ben"]]


async def test_a_set_missing_when_a_like_lands_is_refilled_with_it_by_the_next_reader(
    social: AppClient, redis: aioredis.Redis
) -> None:
    facts = SocialFacts(redis)
    await social.put("/internal/likes/1/1")
    await seen_by(social, facts, 1, [1])
    await redis.delete("sf:liked:1")  # evicted, or expired
    await social.put("/internal/likes/2/1")
    assert await facts.read([1, 2], [], 1) is None  # readers ask social rather than guess
    counts = await seen_by(social, facts, 1, [1, 2])
    assert counts.liked == frozenset({1, 2})
    await social.delete("/internal/likes/1/1")
    after = await facts.read([1, 2], [], 1)
    assert after is not None and after.liked == frozenset({2})


async def test_a_stale_set_is_not_trusted_past_the_next_change(
    social: AppClient, redis: aioredis.Redis
) -> None:
    facts = SocialFacts(redis)
    await social.put("/internal/likes/1/1")
    await seen_by(social, facts, 1, [1])
    # A copy that missed a change (Redis was unreachable when it was published).
    version = int(str(await redis.get("sf:liked:1")).split(":")[0])
    await redis.set("sf:liked:1", f"{version - 1}:")
    await social.put("/internal/likes/2/1")
    counts = await seen_by(social, facts, 1, [1, 2])
    assert counts.liked == frozenset({1, 2})
