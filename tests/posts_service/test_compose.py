"""posts_service/compose.py: pages composed from what social_service published."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from tests.posts_service.helpers import create
from tests.redis_text import text
from tests.services import Users
from tests.typing import AppClient


async def test_pages_take_counts_and_flags_from_what_social_published(
    posts: AppClient, social: AppClient, users: Users, redis: aioredis.Redis
) -> None:
    await users.add("jake", "anna")
    slug = (await create(posts, users["jake"]))["slug"]
    await posts.post(f"/api/articles/{slug}/favorite", headers=users["anna"])
    await social.post("/api/profiles/jake/follow", headers=users["anna"])
    [likes] = [str(key) for key in await redis.keys("sf:likes:*")]
    article_id = int(likes.rsplit(":", 1)[1])
    jake, anna = users.ids["jake"], users.ids["anna"]
    assert (await text(redis, likes)).endswith(":1")
    assert (await text(redis, f"sf:follows:{jake}")).endswith(":1:0")
    assert (await text(redis, f"sf:liked:{anna}")).endswith(f":{article_id}")
    assert (await text(redis, f"sf:following:{anna}")).endswith(f":{jake}")

    async def first(viewer: str | None = None) -> dict[str, Any]:
        headers = users[viewer] if viewer else {}
        page = await (await posts.get("/api/articles", headers=headers)).json()
        return dict(page["articles"][0])

    seen = await first("anna")
    assert (seen["favorited"], seen["favoritesCount"]) == (True, 1)
    assert (seen["author"]["following"], seen["author"]["followersCount"]) == (True, 1)
    # What social publishes later is what pages show, with no call to social: here a value
    # written straight into Redis, which social's database does not have.
    version = int((await text(redis, likes)).split(":")[0])
    await redis.set(likes, f"{version + 1}:41")
    await redis.set(f"sf:liked:{anna}", f"{version + 1}:")
    assert (await first())["favoritesCount"] == 41
    assert ((await first("anna"))["favorited"], (await first("anna"))["favoritesCount"]) == (
        False,
        41,
    )
    # Facts gone from Redis (evicted, flushed): the page asks social, which fills them.
    await redis.delete(likes, f"sf:follows:{jake}", f"sf:liked:{anna}", f"sf:following:{anna}")
    seen = await first("anna")
    assert (seen["favorited"], seen["favoritesCount"], seen["author"]["following"]) == (
        True,
        1,
        True,
    )
    assert (await text(redis, likes)).endswith(":1")
    assert (await text(redis, f"sf:liked:{anna}")).endswith(f":{article_id}")
    assert (await text(redis, f"sf:following:{anna}")).endswith(f":{jake}")
    assert (await first())["favoritesCount"] == 1
