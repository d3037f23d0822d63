"""Comments, media uploads, clean-up after events, and correctness without Redis."""

import asyncio
import io
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import FormData

from shared.events import Event
from tests.posts_service.test_articles import create
from tests.redis_text import entries
from tests.services import Users
from tests.typing import AppClient

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
GIF = b"GIF89a" + b"\x00" * 100
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 100


async def test_comments_are_added_listed_oldest_first_and_deleted_by_their_author(
    posts: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    slug = (await create(posts, users["jake"]))["slug"]
    first = await posts.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "Yum"}}, headers=users["anna"]
    )
    assert first.status == 200
    comment = (await first.json())["comment"]
    assert (comment["body"], comment["author"]["username"]) == ("Yum", "anna")
    assert isinstance(comment["id"], int)
    await posts.post(
        f"/api/articles/{slug}/comments",
        json={"comment": {"body": "Thanks"}},
        headers=users["jake"],
    )
    listing = await (await posts.get(f"/api/articles/{slug}/comments")).json()
    assert [c["body"] for c in listing["comments"]] == ["Yum", "Thanks"]
    path = f"/api/articles/{slug}/comments/{comment['id']}"
    assert (await posts.delete(path, headers=users["jake"])).status == 403
    assert (await posts.delete(path, headers=users["anna"])).status == 204
    assert (await posts.delete(path, headers=users["anna"])).status == 404
    listing = await (await posts.get(f"/api/articles/{slug}/comments")).json()
    assert [c["body"] for c in listing["comments"]] == ["Thanks"]


@pytest.mark.parametrize(
    ("path", "payload", "status"),
    [
        ("/api/articles/missing/comments", {"comment": {"body": "x"}}, 404),
        ("SLUG/comments", {"comment": {"body": ""}}, 422),
        ("SLUG/comments", {"comment": {}}, 422),
    ],
)
async def test_comment_errors(
    posts: AppClient, users: Users, path: str, payload: dict[str, object], status: int
) -> None:
    await users.add("jake")
    slug = (await create(posts, users["jake"]))["slug"]
    url = path.replace("SLUG", f"/api/articles/{slug}")
    assert (await posts.post(url, json=payload, headers=users["jake"])).status == status


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


def upload(data: bytes, declared: str = "image/png") -> FormData:
    form = FormData()
    form.add_field("file", io.BytesIO(data), filename="picture", content_type=declared)
    return form


@pytest.mark.parametrize(
    ("data", "detected"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
async def test_images_are_typed_by_their_bytes_and_served_back(
    posts: AppClient, users: Users, data: bytes, detected: str
) -> None:
    await users.add("jake")
    response = await posts.post(
        "/api/media", data=upload(data, "text/plain"), headers=users["jake"]
    )
    assert response.status == 201
    media = (await response.json())["media"]
    assert (media["contentType"], media["size"]) == (detected, len(data))
    served = await posts.get(media["url"])
    assert served.status == 200
    assert served.headers["Content-Type"] == detected
    assert "immutable" in served.headers["Cache-Control"]
    assert await served.read() == data


async def test_a_file_that_is_not_an_image_is_422(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    response = await posts.post(
        "/api/media", data=upload(b"<html>not an image</html>"), headers=users["jake"]
    )
    assert response.status == 422


async def test_an_image_over_the_limit_is_413_and_leaves_nothing(
    posts: AppClient, users: Users, tmp_path: Path
) -> None:
    await users.add("jake")
    big = PNG + b"\x00" * (5 * 1024**2)
    response = await posts.post("/api/media", data=upload(big), headers=users["jake"])
    assert response.status == 413
    spool = tmp_path / "media" / ".spool"
    assert not spool.exists() or not list(spool.iterdir())


async def test_media_upload_needs_a_caller_and_multipart(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    assert (await posts.post("/api/media", data=upload(PNG))).status == 401
    raw = await posts.post(
        "/api/media", data=PNG, headers={**users["jake"], "Content-Type": "image/png"}
    )
    assert raw.status == 400
    assert (await posts.get("/api/media/unknown")).status == 404


async def test_articles_may_show_only_their_authors_uploads(posts: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    media = (
        await (await posts.post("/api/media", data=upload(PNG), headers=users["anna"])).json()
    )["media"]
    refused = await posts.post(
        "/api/articles",
        json={"article": {"title": "t", "description": "d", "body": "b", "media": [media["id"]]}},
        headers=users["jake"],
    )
    assert refused.status == 422
    mine = await create(posts, users["anna"], "With a picture", media=[media["id"]])
    assert mine["media"] == [media["id"]]


async def test_user_deleted_removes_their_articles_and_comments(
    posts: AppClient, users: Users, redis: aioredis.Redis, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    slug = (await create(posts, users["anna"]))["slug"]
    jakes = (await create(posts, users["jake"], "Jake's stew"))["slug"]
    await posts.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "hi"}}, headers=users["jake"]
    )
    event = Event(
        "33333333-3333-3333-3333-333333333333",
        "user.deleted",
        "2026-11-23T00:00:00Z",
        "auth",
        1,
        {"id": users.ids["jake"]},
    )
    for _ in range(2):  # a redelivery changes nothing
        await redis.xadd("events:auth", event.to_fields())  # type: ignore[arg-type]
    for _ in range(200):
        if await db.fetchval("SELECT count(*) FROM posts.articles") == 1:
            break
        await asyncio.sleep(0.05)
    assert (await posts.get(f"/api/articles/{jakes}")).status == 404
    comments = await (await posts.get(f"/api/articles/{slug}/comments")).json()
    assert comments == {"comments": []}
    for _ in range(100):  # the relay publishes what the handler recorded
        deleted = [
            f for _, f in await entries(redis, "events:posts") if f["type"] == "article.deleted"
        ]
        if deleted:
            break
        await asyncio.sleep(0.05)
    assert len(deleted) == 1


async def test_every_route_still_answers_with_redis_down(
    posts: AppClient, users: Users, redis: aioredis.Redis
) -> None:
    await users.add("jake")
    slug = (await create(posts, users["jake"], tagList=["soup"]))["slug"]
    await posts.get("/api/articles")
    app = posts.app
    from posts_service.keys import READS

    # Point the cache at a closed port: every cache call fails as with Redis down.
    dead = aioredis.from_url(
        "redis://127.0.0.1:1/0", decode_responses=True, socket_connect_timeout=0.2
    )
    articles = app[READS]
    articles.cache.cache.redis = dead
    articles.profiles.cache.redis = dead
    try:
        listing = await (await posts.get("/api/articles")).json()
        assert listing["articlesCount"] == 1
        assert (await posts.get(f"/api/articles/{slug}")).status == 200
        assert (await (await posts.get("/api/tags")).json()) == {"tags": ["soup"]}
        update = await posts.put(
            f"/api/articles/{slug}", json={"article": {"body": "New"}}, headers=users["jake"]
        )
        assert update.status == 200
        fresh = await (await posts.get(f"/api/articles/{slug}")).json()
        assert fresh["article"]["body"] == "New"
    finally:
        await dead.aclose()


async def test_a_new_article_is_stored_with_its_tags_and_one_event_even_when_its_slug_was_taken(
    posts: AppClient, users: Users, redis: aioredis.Redis, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    first = await create(posts, users["jake"], title="Pea soup", tagList=["soup", "green"])
    second = await create(posts, users["jake"], title="Pea soup", tagList=["soup"])
    assert first["slug"] == "pea-soup" and second["slug"] != "pea-soup"  # taken: retried
    counts = dict(await db.fetch("SELECT name, article_count FROM posts.tags"))
    assert counts == {"soup": 2, "green": 1}
    linked = await db.fetchval(
        """SELECT count(*) FROM posts.article_tags l JOIN posts.articles a ON a.id = l.article_id
           WHERE l.created_at = a.created_at"""
    )
    assert linked == 3
    rows = await db.fetch("SELECT id, slug, title FROM posts.articles ORDER BY id")
    expected = [
        {"id": row["id"], "slug": row["slug"], "authorId": users.ids["jake"], "title": row["title"]}
        for row in rows
    ]
    for _ in range(100):  # the relay publishes what the insert recorded, once per article
        created = [
            Event.from_fields(f).data
            for _, f in await entries(redis, "events:posts")
            if f["type"] == "article.created"
        ]
        if len(created) >= 2:
            break
        await asyncio.sleep(0.05)
    assert created == expected
