"""posts_service/handlers.py: writes with an Idempotency-Key apply once."""

from __future__ import annotations

from tests.posts_service.helpers import article, create
from tests.services import Users
from tests.typing import AppClient


async def test_idempotency_key_creates_one_article(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    headers = {**users["jake"], "Idempotency-Key": "create-soup-1"}
    first = await posts.post("/api/articles", json=article(), headers=headers)
    second = await posts.post("/api/articles", json=article(), headers=headers)
    assert (first.status, second.status) == (201, 201)
    assert (await first.json()) == (await second.json())
    assert second.headers["Idempotent-Replay"] == "true"
    listing = await (await posts.get("/api/articles")).json()
    assert listing["articlesCount"] == 1
    bad = await posts.post(
        "/api/articles", json=article(), headers={**users["jake"], "Idempotency-Key": "bad key!"}
    )
    assert bad.status == 400


async def test_a_repeated_comment_with_an_idempotency_key_posts_once(
    posts: AppClient, users: Users
) -> None:
    await users.add("jake")
    slug = (await create(posts, users["jake"]))["slug"]
    headers = {**users["jake"], "Idempotency-Key": "c-1"}
    for _ in range(3):
        await posts.post(
            f"/api/articles/{slug}/comments", json={"comment": {"body": "Once"}}, headers=headers
        )
    listing = await (await posts.get(f"/api/articles/{slug}/comments")).json()
    assert len(listing["comments"]) == 1
