"""The counters social_service publishes to Redis, read back as posts_service reads them."""

from __future__ import annotations

import redis.asyncio as aioredis

from shared.contracts.social_facts import FollowCounts, LikeCount, SocialFacts
from shared.data.redis import create_redis


async def test_the_higher_version_wins_whatever_the_order(redis: aioredis.Redis) -> None:
    facts = SocialFacts(redis)
    await facts.publish(likes=[LikeCount(1, 5, version=7)], follows=[FollowCounts(9, 3, 4, 2)])
    # An older value arriving late (a fill that read before the last change) loses.
    await facts.publish(likes=[LikeCount(1, 4, version=6)], follows=[FollowCounts(9, 2, 4, 1)])
    counts = await facts.read([1], [9])
    assert counts is not None
    assert (counts.likes, counts.follows) == ({1: 5}, {9: (3, 4)})
    await facts.publish(likes=[LikeCount(1, 6, version=8)])
    counts = await facts.read([1], [9])
    assert counts is not None and counts.likes == {1: 6}
    assert 0 < await redis.ttl("sf:likes:1") <= 300


async def test_one_missing_counter_makes_the_whole_read_a_miss(redis: aioredis.Redis) -> None:
    facts = SocialFacts(redis)
    await facts.publish(likes=[LikeCount(1, 5, version=1)])
    assert await facts.read([1, 2], []) is None
    assert await facts.read([1], [3]) is None
    counts = await facts.read([], [])
    assert counts is not None and (counts.likes, counts.follows) == ({}, {})


async def test_redis_down_is_a_miss_and_a_skipped_publish() -> None:
    unreachable = create_redis("redis://127.0.0.1:1/0")
    try:
        facts = SocialFacts(unreachable)
        await facts.publish(likes=[LikeCount(1, 5, version=1)])  # logged, not raised
        assert await facts.read([1], []) is None
    finally:
        await unreachable.aclose()
