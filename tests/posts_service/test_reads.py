"""posts_service/reads.py: lists, filters, search and the feed."""

from __future__ import annotations

from tests.posts_service.helpers import create, get_json
from tests.services import Users
from tests.typing import AppClient


async def test_lists_filter_and_count(posts: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    for index in range(3):
        await create(posts, users["jake"], f"Soup {index}", tagList=["soup"])
    await create(posts, users["anna"], "Cake", tagList=["dessert"])
    everything = await (await posts.get("/api/articles", params={"limit": "2"})).json()
    assert everything["articlesCount"] == 4
    assert [a["title"] for a in everything["articles"]] == ["Cake", "Soup 2"]
    assert "body" not in everything["articles"][0]
    by_tag = await (await posts.get("/api/articles", params={"tag": "soup", "offset": "1"})).json()
    assert (by_tag["articlesCount"], [a["title"] for a in by_tag["articles"]]) == (
        3,
        ["Soup 1", "Soup 0"],
    )
    by_author = await (await posts.get("/api/articles", params={"author": "anna"})).json()
    assert [a["title"] for a in by_author["articles"]] == ["Cake"]
    nobody = await (await posts.get("/api/articles", params={"author": "nobody"})).json()
    assert nobody == {"articles": [], "articlesCount": 0}
    assert await (await posts.get("/api/tags")).json() == {"tags": ["soup", "dessert"]}
    assert (await posts.get("/api/articles", params={"limit": "101"})).status == 422
    assert (await posts.get("/api/articles", params={"colour": "red"})).status == 422


async def test_search_ranks_title_matches_first(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    await create(posts, users["jake"], "Bread basics", body="Flour, water and a little pumpkin.")
    await create(posts, users["jake"], "Pumpkin pie")
    await create(posts, users["jake"], "Salad")
    found = await (await posts.get("/api/articles", params={"q": "pumpkin"})).json()
    assert found["articlesCount"] == 2
    assert [a["title"] for a in found["articles"]] == ["Pumpkin pie", "Bread basics"]


async def test_feed_follows_follows(posts: AppClient, social: AppClient, users: Users) -> None:
    await users.add("jake", "anna", "ben")
    await create(posts, users["anna"], "Anna's bread")
    await create(posts, users["ben"], "Ben's beans")
    empty = await (await posts.get("/api/articles/feed", headers=users["jake"])).json()
    assert empty == {"articles": [], "articlesCount": 0}
    await social.post("/api/profiles/anna/follow", headers=users["jake"])
    feed = await (await posts.get("/api/articles/feed", headers=users["jake"])).json()
    assert [a["title"] for a in feed["articles"]] == ["Anna's bread"]
    assert feed["articles"][0]["author"]["following"] is True
    await social.delete("/api/profiles/anna/follow", headers=users["jake"])
    after = await (await posts.get("/api/articles/feed", headers=users["jake"])).json()
    assert after["articlesCount"] == 0
    assert (await posts.get("/api/articles/feed")).status == 401


async def test_a_listed_article_is_the_article_without_its_body(
    posts: AppClient, social: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    slug = (await create(posts, users["jake"], 'Soup "quoted" \\ ü', tagList=["b", "a"]))["slug"]
    await posts.post(f"/api/articles/{slug}/favorite", headers=users["anna"])
    await social.post("/api/profiles/jake/follow", headers=users["anna"])
    for headers in ({}, users["anna"], users["jake"]):
        one = (await (await posts.get(f"/api/articles/{slug}", headers=headers)).json())["article"]
        for path in ("/api/articles", "/api/articles?tag=a", "/api/articles?author=jake"):
            listed = (await (await posts.get(path, headers=headers)).json())["articles"]
            assert listed == [{k: v for k, v in one.items() if k != "body"}]
    feed = await (await posts.get("/api/articles/feed", headers=users["anna"])).json()
    assert feed["articles"][0]["favorited"] is True
    assert feed["articles"][0]["author"]["following"] is True


async def test_an_empty_page_past_the_end_still_counts(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    await create(posts, users["jake"], "Soup", tagList=["soup"])
    for params in ({"offset": "5"}, {"tag": "soup", "offset": "5"}, {"q": "soup", "offset": "5"}):
        page = await get_json(posts, "/api/articles", params=params)
        assert page == {"articles": [], "articlesCount": 1}, params
