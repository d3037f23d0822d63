"""Profiles and follows, as the RealWorld spec and API.md say."""

import asyncio

import pytest
import redis.asyncio as aioredis

from tests.factories import DEFAULT_IMAGE
from tests.services import Users
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
