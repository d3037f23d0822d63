"""posts_service/cursors.py: keyset paging by nextCursor."""

from __future__ import annotations

from typing import Any

from tests.posts_service.helpers import create, get_json
from tests.services import Users
from tests.typing import AppClient


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
