"""posts_service/slugs.py: every title gets a URL-safe slug, unique under concurrency."""

from __future__ import annotations

import asyncio

from tests.posts_service.helpers import article, create
from tests.services import Users
from tests.typing import AppClient


async def test_a_non_latin_title_still_gets_a_slug(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    created = await create(posts, users["jake"], "Борщ")
    assert created["slug"].startswith("article-") and len(created["slug"]) > 8


async def test_concurrent_articles_with_one_title_get_unique_slugs(
    posts: AppClient, users: Users
) -> None:
    await users.add("jake")
    responses = await asyncio.gather(
        *(
            posts.post("/api/articles", json=article("Same title"), headers=users["jake"])
            for _ in range(6)
        )
    )
    assert {r.status for r in responses} == {201}
    slugs = {(await r.json())["article"]["slug"] for r in responses}
    assert len(slugs) == 6 and "same-title" in slugs
