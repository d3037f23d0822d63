"""social_service/domain.py: follows, likes, profiles, and the liked and followed sets it
publishes."""

import asyncio

import pytest
import redis.asyncio as aioredis

from shared.contracts.social_facts import SocialFacts
from tests.factories import DEFAULT_IMAGE
from tests.services import Users
from tests.social_service.helpers import seen_by
from tests.typing import AppClient


async def test_a_profile_shows_counts_and_following_for_the_viewer(
    social: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    anonymous = await (await social.get("/api/profiles/anna")).json()
    assert anonymous == {
        "profile": {
            "username": "anna",
            "bio": None,
            "image": DEFAULT_IMAGE,
            "following": False,
            "followersCount": 0,
            "followingCount": 0,
        }
    }
    followed = await social.post("/api/profiles/anna/follow", headers=users["jake"])
    assert followed.status == 200
    body = (await followed.json())["profile"]
    assert (body["following"], body["followersCount"]) == (True, 1)
    seen_by_jake = (await (await social.get("/api/profiles/ANNA", headers=users["jake"])).json())[
        "profile"
    ]
    assert seen_by_jake["following"] is True
    jake = (await (await social.get("/api/profiles/jake")).json())["profile"]
    assert jake["followingCount"] == 1


async def test_following_twice_is_still_one_follow(social: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    for _ in range(2):
        response = await social.post("/api/profiles/anna/follow", headers=users["jake"])
        assert response.status == 200
    assert (await response.json())["profile"]["followersCount"] == 1


async def test_unfollow_is_idempotent_and_answers_following_false(
    social: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    await social.post("/api/profiles/anna/follow", headers=users["jake"])
    for _ in range(2):
        response = await social.delete("/api/profiles/anna/follow", headers=users["jake"])
        body = (await response.json())["profile"]
        assert (response.status, body["following"], body["followersCount"]) == (200, False, 0)


async def test_following_yourself_is_422(social: AppClient, users: Users) -> None:
    await users.add("jake")
    response = await social.post("/api/profiles/jake/follow", headers=users["jake"])
    assert response.status == 422
    assert (await response.json())["errors"]["body"] == ["you cannot follow yourself"]


@pytest.mark.parametrize("username", ["nobody", "bad%20name", "..%2Finternal"])
async def test_unknown_users_are_404(social: AppClient, users: Users, username: str) -> None:
    await users.add("jake")
    assert (await social.get(f"/api/profiles/{username}")).status == 404
    assert (
        await social.post(f"/api/profiles/{username}/follow", headers=users["jake"])
    ).status == 404


async def test_following_needs_a_caller(social: AppClient, users: Users) -> None:
    await users.add("anna")
    assert (await social.post("/api/profiles/anna/follow")).status == 401


async def test_followers_and_following_lists_are_paginated_newest_first(
    social: AppClient, users: Users
) -> None:
    await users.add("anna", "ben", "cleo", "dan")
    for name in ("ben", "cleo", "dan"):
        await social.post("/api/profiles/anna/follow", headers=users[name])
        await asyncio.sleep(0.01)
    await social.post("/api/profiles/ben/follow", headers=users["anna"])
    page = await (
        await social.get(
            "/api/profiles/anna/followers", params={"limit": "2"}, headers=users["ben"]
        )
    ).json()
    assert page["profilesCount"] == 3
    assert [p["username"] for p in page["profiles"]] == ["dan", "cleo"]
    second = await (
        await social.get("/api/profiles/anna/followers", params={"limit": "2", "offset": "2"})
    ).json()
    assert [p["username"] for p in second["profiles"]] == ["ben"]
    following = await (
        await social.get("/api/profiles/anna/following", headers=users["ben"])
    ).json()
    assert [p["username"] for p in following["profiles"]] == ["ben"]
    assert following["profilesCount"] == 1
    assert (await social.get("/api/profiles/anna/followers", params={"limit": "0"})).status == 422


async def test_likes_are_idempotent_both_ways(social: AppClient) -> None:
    for _ in range(2):
        liked = await (await social.put("/internal/likes/10/1")).json()
    assert liked == {"articleId": 10, "favorited": True, "favoritesCount": 1}
    for _ in range(2):
        unliked = await (await social.delete("/internal/likes/10/1")).json()
    assert unliked == {"articleId": 10, "favorited": False, "favoritesCount": 0}


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
