"""Per-list page versions: a new article makes stale the pages of the lists it enters and no
others, and whoever wrote reads their write in every list at once (read-your-writes)."""

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from posts_service.app import create_app as create_posts
from posts_service.cache import VERSION_KEY, ArticleCache, Page, lists_entered
from posts_service.compose import Fragments
from posts_service.settings import PostsSettings
from shared.data.cache import JsonCache
from shared.settings import Env
from tests.infra import Infra
from tests.services import FAST_EVENTS, Users, base_url, serving
from tests.typing import AppClient


async def create(
    posts: AppClient, headers: dict[str, str], title: str, tags: list[str]
) -> dict[str, Any]:
    body = {"article": {"title": title, "description": "d", "body": "b", "tagList": tags}}
    response = await posts.post("/api/articles", json=body, headers=headers)
    assert response.status == 201, await response.text()
    return (await response.json())["article"]  # type: ignore[no-any-return]


async def titles(posts: AppClient, path: str, headers: dict[str, str] | None = None) -> list[str]:
    response = await posts.get(path, headers=headers or {})
    assert response.status == 200, await response.text()
    return [a["title"] for a in (await response.json())["articles"]]


async def retitle_behind_the_cache(db: asyncpg.Connection, slug: str, title: str) -> None:
    """Changes a title in the table only, as no write of the service would: a page that still
    shows the old title was served from the cache, one that shows the new one was loaded."""
    await db.execute("UPDATE posts.articles SET title = $2 WHERE slug = $1", slug, title)


async def test_a_new_article_leaves_the_pages_of_other_lists_cached(
    posts: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    bread = await create(posts, users["anna"], "Rye bread", ["bread"])
    assert await titles(posts, "/api/articles?tag=bread") == ["Rye bread"]
    assert await titles(posts, "/api/articles?author=anna") == ["Rye bread"]
    assert await titles(posts, "/api/articles") == ["Rye bread"]
    await retitle_behind_the_cache(db, bread["slug"], "Renamed behind the cache")

    await create(posts, users["jake"], "Tomato soup", ["soup"])

    # Neither anna's list nor the bread tag's: still the cached pages.
    assert await titles(posts, "/api/articles?tag=bread") == ["Rye bread"]
    assert await titles(posts, "/api/articles?author=anna") == ["Rye bread"]
    # The lists the new article entered are loaded again, and show it.
    assert await titles(posts, "/api/articles") == ["Tomato soup", "Renamed behind the cache"]
    assert await titles(posts, "/api/articles?tag=soup") == ["Tomato soup"]
    assert await titles(posts, "/api/articles?author=jake") == ["Tomato soup"]


async def test_the_writer_reads_a_new_article_in_every_list_it_entered(
    posts: AppClient, social: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    await create(posts, users["jake"], "Pea soup", ["soup", "green"])
    follow = await social.post("/api/profiles/jake/follow", headers=users["anna"])
    assert follow.status == 200
    # Every list cached first, as a reader would have left them.
    lists = [
        "/api/articles",
        "/api/articles?tag=soup",
        "/api/articles?tag=green",
        "/api/articles?author=JAKE",
        "/api/articles?q=soup",
    ]
    for path in lists:
        assert await titles(posts, path) == ["Pea soup"]
    assert await titles(posts, "/api/articles/feed", users["anna"]) == ["Pea soup"]

    await create(posts, users["jake"], "Leek soup", ["soup", "green"])

    for path in lists:
        assert await titles(posts, path) == ["Leek soup", "Pea soup"], path
    assert await titles(posts, "/api/articles/feed", users["anna"]) == ["Leek soup", "Pea soup"]


async def test_a_change_or_a_deletion_still_makes_every_list_stale(
    posts: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    """An update may take an article out of a tag's list, or change what every list shows of
    it: every page goes stale, those of other authors and tags included."""
    await users.add("jake", "anna")
    bread = await create(posts, users["anna"], "Rye bread", ["bread"])
    soup = await create(posts, users["jake"], "Tomato soup", ["soup"])
    assert await titles(posts, "/api/articles?tag=bread") == ["Rye bread"]
    assert await titles(posts, "/api/articles?tag=soup") == ["Tomato soup"]
    await retitle_behind_the_cache(db, bread["slug"], "Renamed behind the cache")

    changed = await posts.put(
        f"/api/articles/{soup['slug']}",
        json={"article": {"tagList": ["stew"]}},
        headers=users["jake"],
    )
    assert changed.status == 200
    assert await titles(posts, "/api/articles?tag=soup") == []
    assert await titles(posts, "/api/articles?tag=stew") == ["Tomato soup"]
    assert await titles(posts, "/api/articles?tag=bread") == ["Renamed behind the cache"]

    await retitle_behind_the_cache(db, bread["slug"], "Renamed again")
    deleted = await posts.delete(f"/api/articles/{soup['slug']}", headers=users["jake"])
    assert deleted.status == 204
    assert await titles(posts, "/api/articles?tag=stew") == []
    assert await titles(posts, "/api/articles?tag=bread") == ["Renamed again"]


async def test_a_reader_after_a_write_never_shares_a_load_begun_before_it(
    redis: aioredis.Redis,
) -> None:
    """A page's load that began before a write (its reader saw the old versions) may finish
    after it: a reader who comes after the write loads again instead of waiting for it."""
    cache = ArticleCache(JsonCache(redis, 60))
    release = asyncio.Event()

    async def before_the_write() -> Page:
        await release.wait()
        return Fragments([1], [1], ["old"]), 1

    async def after_the_write() -> Page:
        return Fragments([2, 1], [1, 1], ["new", "old"]), 2

    early = asyncio.create_task(cache.page("recent", 20, 0, before_the_write))
    await asyncio.sleep(0.05)  # its versions read, its load waiting
    await cache.invalidate(lists=lists_entered(["jake"], ["soup"]))
    page, count = await asyncio.wait_for(cache.page("recent", 20, 0, after_the_write), 5)
    assert (page.texts, count) == (["new", "old"], 2)
    release.set()
    assert (await early)[1] == 1
    # The early load stored its page under the old versions: never served again.
    page, count = await cache.page("recent", 20, 0, after_the_write)
    assert count == 2


async def test_during_a_rollout_a_new_article_moves_every_pages_version(
    infra: Infra,
    auth_client: AppClient,
    social: AppClient,
    users: Users,
    db: asyncpg.Connection,
    redis: aioredis.Redis,
    tmp_path: Path,
) -> None:
    """ARTICLE_CACHE_LIST_VERSIONS=false (a release of 2026-12-06 still serves): that release
    knows only the version of every page, so a new article moves it too, and a page of a
    list the article did not enter is loaded again."""
    env = infra.env(
        AUTH_URL=base_url(auth_client),
        SOCIAL_URL=base_url(social),
        MEDIA_DIR=str(tmp_path / "media"),
        ARTICLE_CACHE_LIST_VERSIONS="false",
    )
    settings = PostsSettings.from_env(Env(env))
    assert not settings.page_list_versions
    async with serving(create_posts(settings, **FAST_EVENTS)) as posts:
        await users.add("jake", "anna")
        bread = await create(posts, users["anna"], "Rye bread", ["bread"])
        assert await titles(posts, "/api/articles?tag=bread") == ["Rye bread"]
        await retitle_behind_the_cache(db, bread["slug"], "Renamed behind the cache")
        version_before = await redis.get(VERSION_KEY)

        await create(posts, users["jake"], "Tomato soup", ["soup"])

        assert await redis.get(VERSION_KEY) != version_before
        assert await titles(posts, "/api/articles?tag=bread") == ["Renamed behind the cache"]
