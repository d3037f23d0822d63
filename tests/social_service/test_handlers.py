"""social_service/handlers.py: the internal routes posts_service composes its pages with."""

from tests.services import Users
from tests.typing import AppClient


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
