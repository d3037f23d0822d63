"""The counters social_service publishes to Redis, read back as posts_service reads them."""

from __future__ import annotations

import redis.asyncio as aioredis

from shared.contracts.social_facts import (
    MAX_SET,
    FollowCounts,
    IdSet,
    LikeCount,
    SetChange,
    SocialFacts,
)
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


def liked(user_id: int, article_id: int, version: int, added: bool = True) -> SetChange:
    """The change that took a user's liked set to `version`."""
    return SetChange(user_id, article_id, added, version, size=1)


async def viewer_sets(facts: SocialFacts, user_id: int) -> tuple[frozenset[int], ...] | None:
    counts = await facts.read([], [], user_id)
    return None if counts is None else (counts.liked, counts.following)


async def test_a_patch_over_the_version_before_it_adds_or_removes_one_id(
    redis: aioredis.Redis,
) -> None:
    facts = SocialFacts(redis)
    await facts.publish(liked=[IdSet(7, [1, 2], 4)], following=[IdSet(7, [9], 2)])
    await facts.publish(liked_changes=[liked(7, 3, 5)])
    assert await viewer_sets(facts, 7) == (frozenset({1, 2, 3}), frozenset({9}))
    await facts.publish(liked_changes=[liked(7, 2, 6, added=False)])
    await facts.publish(following_changes=[SetChange(7, 8, True, 3, 2)])
    assert await viewer_sets(facts, 7) == (frozenset({1, 3}), frozenset({8, 9}))
    following = await facts.following_of(7)
    assert following is not None and (sorted(following.ids), following.version) == ([8, 9], 3)
    # Adding rewrites the version in place and appends: the value keeps one width.
    assert await redis.get("sf:liked:7") == "0000000000000000006:1,3"
    await facts.publish(liked_changes=[liked(7, 1, 7, added=False), liked(7, 3, 8, added=False)])
    assert await viewer_sets(facts, 7) == (frozenset(), frozenset({8, 9}))
    await facts.publish(liked_changes=[liked(7, 4, 9)])
    assert await redis.get("sf:liked:7") == "0000000000000000009:4"


async def test_a_patch_already_in_the_published_set_changes_nothing(
    redis: aioredis.Redis,
) -> None:
    facts = SocialFacts(redis)
    # A fill that read the set after the like reached Redis before the like's own patch.
    await facts.publish(liked=[IdSet(7, [1, 3], 5)], following=[IdSet(7, [], 1)])
    await facts.publish(liked_changes=[liked(7, 3, 5)])
    await facts.publish(liked_changes=[liked(7, 1, 4)])
    assert await viewer_sets(facts, 7) == (frozenset({1, 3}), frozenset())


async def test_a_patch_with_no_set_under_it_leaves_a_tombstone_that_only_a_newer_fill_lifts(
    redis: aioredis.Redis,
) -> None:
    facts = SocialFacts(redis)
    await facts.publish(following=[IdSet(7, [], 1)])
    # The liked set is missing (expired, evicted): the patch cannot apply, and readers ask.
    await facts.publish(liked_changes=[liked(7, 3, 5)])
    assert await viewer_sets(facts, 7) is None
    # A fill that read the set before the like (version 4) would hide it: refused.
    await facts.publish(liked=[IdSet(7, [1], 4)])
    assert await viewer_sets(facts, 7) is None
    await facts.publish(liked=[IdSet(7, [1, 3], 5)])
    assert await viewer_sets(facts, 7) == (frozenset({1, 3}), frozenset())


async def test_a_patch_that_skips_a_version_makes_the_set_a_miss_until_a_fill(
    redis: aioredis.Redis,
) -> None:
    facts = SocialFacts(redis)
    await facts.publish(liked=[IdSet(7, [], 1)], following=[IdSet(7, [1], 4)])
    # Two follows by the same user whose patches arrive in the opposite order.
    await facts.publish(following_changes=[SetChange(7, 3, True, 6, 3)])
    assert await facts.following_of(7) is None
    assert await viewer_sets(facts, 7) is None
    await facts.publish(following_changes=[SetChange(7, 2, True, 5, 2)])
    assert await facts.following_of(7) is None
    await facts.publish(following=[IdSet(7, [1, 2, 3], 6)])
    following = await facts.following_of(7)
    assert following is not None and (sorted(following.ids), following.version) == ([1, 2, 3], 6)


async def test_a_set_grown_past_the_published_size_becomes_a_miss(redis: aioredis.Redis) -> None:
    facts = SocialFacts(redis)
    await facts.publish(liked=[IdSet(7, [1], 1)], following=[IdSet(7, [], 1)])
    await facts.publish(liked_changes=[SetChange(7, 2, True, 2, size=MAX_SET + 1)])
    assert await viewer_sets(facts, 7) is None
    # Too large sets are never filled either: readers keep asking social.
    await facts.publish(liked=[IdSet(7, list(range(MAX_SET + 1)), 2)])
    assert await viewer_sets(facts, 7) is None


async def test_a_patch_keeps_the_set_alive(redis: aioredis.Redis) -> None:
    facts = SocialFacts(redis)
    await facts.publish(liked=[IdSet(7, [1], 1)])
    await redis.expire("sf:liked:7", 5)
    await facts.publish(liked_changes=[liked(7, 2, 2)])
    assert 5 < await redis.ttl("sf:liked:7") <= 300
