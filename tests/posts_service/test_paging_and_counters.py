"""Keyset paging, the article counters kept by triggers, the favorite's answer, and the single
article cache's independence from other articles' writes."""

import asyncio
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from tests.posts_service.test_articles import create
from tests.redis_text import text
from tests.services import Users
from tests.typing import AppClient


async def get_json(client: AppClient, path: str, **kwargs: Any) -> Any:
    response = await client.get(path, **kwargs)
    assert response.status == 200, await response.text()
    return await response.json()


async def walk(client: AppClient, path: str, limit: int, **kwargs: Any) -> list[list[str]]:
    """Every page of a list by its cursors: the titles of each page."""
    pages, params = [], {"limit": str(limit), **kwargs.pop("params", {})}
    while True:
        page = await get_json(client, path, params=params, **kwargs)
        pages.append([a["title"] for a in page["articles"]])
        if "nextCursor" not in page:
            return pages
        params = {**params, "before": page["nextCursor"]}


async def test_cursors_page_through_every_list_as_offsets_do(
    posts: AppClient, social: AppClient, users: Users
) -> None:
    await users.add("jake", "anna", "ben")
    titles = []
    for index in range(7):
        author = "anna" if index % 2 else "ben"
        title = f"Dish {index}"
        await create(posts, users[author], title, tagList=["soup"] if index < 5 else [])
        titles.append(title)
    newest_first = titles[::-1]
    assert await walk(posts, "/api/articles", 3) == [
        newest_first[0:3],
        newest_first[3:6],
        newest_first[6:],
    ]
    by_offset = await get_json(posts, "/api/articles", params={"limit": "3", "offset": "3"})
    assert [a["title"] for a in by_offset["articles"]] == newest_first[3:6]
    assert by_offset["articlesCount"] == 7
    soups = await walk(posts, "/api/articles", 2, params={"tag": "soup"})
    assert soups == [["Dish 4", "Dish 3"], ["Dish 2", "Dish 1"], ["Dish 0"]]
    annas = await walk(posts, "/api/articles", 2, params={"author": "anna"})
    assert annas == [["Dish 5", "Dish 3"], ["Dish 1"]]
    # A full last page still has a cursor; the page after it is empty and has none.
    assert await walk(posts, "/api/articles", 7) == [newest_first, []]
    await social.post("/api/profiles/anna/follow", headers=users["jake"])
    feed = await walk(posts, "/api/articles/feed", 2, headers=users["jake"])
    assert feed == [["Dish 5", "Dish 3"], ["Dish 1"]]


async def test_a_cursor_that_is_not_one_is_422(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    for params in ({"before": "yesterday"}, {"before": "-99999999999999999.1"}):
        response = await posts.get("/api/articles", params=params)
        assert response.status == 422, params
        assert "before" in (await response.json())["errors"], params
    feed = await posts.get("/api/articles/feed", params={"before": "x"}, headers=users["jake"])
    assert feed.status == 422


async def test_a_cursor_combines_with_offset_and_with_a_search(
    posts: AppClient, users: Users
) -> None:
    await users.add("jake")
    for number in range(4):
        await create(posts, users["jake"], title=f"Soup {number}")
    first = await get_json(posts, "/api/articles", params={"limit": "1"})
    assert [a["title"] for a in first["articles"]] == ["Soup 3"]
    cursor = first["nextCursor"]
    # offset counts from the cursor; a search keeps to the matches older than it.
    skipped = await get_json(posts, "/api/articles", params={"before": cursor, "offset": "1"})
    assert [a["title"] for a in skipped["articles"]] == ["Soup 1", "Soup 0"]
    older = await get_json(posts, "/api/articles", params={"before": cursor, "q": "soup"})
    assert sorted(a["title"] for a in older["articles"]) == ["Soup 0", "Soup 1", "Soup 2"]
    assert older["articlesCount"] == 3


async def test_counts_stay_exact_through_concurrent_creates_and_deletes(
    posts: AppClient, social: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna", "ben")
    authors = ["anna", "ben"] * 10
    created = await asyncio.gather(
        *(create(posts, users[name], f"Dish {i}") for i, name in enumerate(authors))
    )
    gone = [(authors[i], created[i]["slug"]) for i in range(0, 20, 3)]  # 4 of anna, 3 of ben
    answers = await asyncio.gather(
        *(posts.delete(f"/api/articles/{slug}", headers=users[name]) for name, slug in gone)
    )
    assert [answer.status for answer in answers] == [204] * len(gone)
    everything = await get_json(posts, "/api/articles", params={"limit": "1"})
    assert everything["articlesCount"] == 13
    annas = await get_json(posts, "/api/articles", params={"author": "anna"})
    assert (annas["articlesCount"], len(annas["articles"])) == (6, 6)
    await social.post("/api/profiles/ben/follow", headers=users["jake"])
    feed = await get_json(posts, "/api/articles/feed", headers=users["jake"])
    assert (feed["articlesCount"], len(feed["articles"])) == (7, 7)
    await db.execute("SET search_path TO posts, public")
    assert await db.fetchval("SELECT sum(articles) FROM article_totals") == await db.fetchval(
        "SELECT count(*) FROM articles"
    )
    per_author = await db.fetch(
        """SELECT t.author_id, t.articles, count(a.id) AS counted
           FROM author_totals t LEFT JOIN articles a ON a.author_id = t.author_id
           GROUP BY t.author_id, t.articles"""
    )
    assert [row["articles"] for row in per_author] == [row["counted"] for row in per_author]


async def test_an_empty_page_past_the_end_still_counts(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    await create(posts, users["jake"], "Soup", tagList=["soup"])
    for params in ({"offset": "5"}, {"tag": "soup", "offset": "5"}, {"q": "soup", "offset": "5"}):
        page = await get_json(posts, "/api/articles", params=params)
        assert page == {"articles": [], "articlesCount": 1}, params


async def test_a_favorites_answer_equals_a_fresh_read(
    posts: AppClient, social: AppClient, users: Users
) -> None:
    await users.add("jake", "anna", "ben")
    slug = (await create(posts, users["jake"]))["slug"]
    await social.post("/api/profiles/jake/follow", headers=users["anna"])
    await posts.post(f"/api/articles/{slug}/favorite", headers=users["ben"])
    for method in ("post", "delete", "post"):
        answer = await getattr(posts, method)(
            f"/api/articles/{slug}/favorite", headers=users["anna"]
        )
        assert answer.status == 200
        fresh = await get_json(posts, f"/api/articles/{slug}", headers=users["anna"])
        assert (await answer.json()) == fresh, method
    assert fresh["article"]["favoritesCount"] == 2
    assert fresh["article"]["author"]["following"] is True


async def test_a_cached_article_outlives_other_articles_writes(
    posts: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    slug = (await create(posts, users["jake"], "Soup"))["slug"]
    other = (await create(posts, users["jake"], "Cake"))["slug"]
    await get_json(posts, f"/api/articles/{slug}")  # cached
    # Changed behind the service's back: a read that goes to the database would show it.
    await db.execute("UPDATE posts.articles SET description = 'changed' WHERE slug = $1", slug)
    await create(posts, users["jake"], "Bread")
    await posts.put(
        f"/api/articles/{other}", json={"article": {"body": "Bake."}}, headers=users["jake"]
    )
    cached = await get_json(posts, f"/api/articles/{slug}")
    assert cached["article"]["description"] == "A warm classic"
    # A write to the article itself is seen at once.
    await posts.put(
        f"/api/articles/{slug}", json={"article": {"body": "Simmer."}}, headers=users["jake"]
    )
    fresh = await get_json(posts, f"/api/articles/{slug}")
    assert (fresh["article"]["description"], fresh["article"]["body"]) == ("changed", "Simmer.")


async def test_a_new_articles_zero_likes_are_published_below_socials_versions(
    posts: AppClient, users: Users, redis: aioredis.Redis, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    slug = (await create(posts, users["jake"]))["slug"]
    article_id = await db.fetchval("SELECT id FROM posts.articles WHERE slug = $1", slug)
    assert await text(redis, f"sf:likes:{article_id}") == "0:0"
    # social's first count replaces it.
    liked = await posts.post(f"/api/articles/{slug}/favorite", headers=users["anna"])
    assert (await liked.json())["article"]["favoritesCount"] == 1
    version, likes = (await text(redis, f"sf:likes:{article_id}")).split(":")
    assert (int(version) > 0, likes) == (True, "1")
