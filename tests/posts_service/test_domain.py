"""posts_service/domain.py: articles, comments and favorites, their rules and their answers."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from posts_service.app import create_app as create_posts
from posts_service.settings import PostsSettings
from shared.settings import Env
from tests.factories import DEFAULT_IMAGE, as_user, register
from tests.infra import Infra
from tests.posts_service.helpers import article, create, get_json
from tests.redis_text import text
from tests.services import FAST_EVENTS, Users, serving
from tests.typing import AppClient


async def test_creating_an_article_answers_it_in_full(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    created = await create(
        posts,
        users["jake"],
        "Crème Brûlée!",
        tagList=[" Dessert", "french", "dessert", ""],
        complexity="medium",
        cookingMinutes=45,
        ingredients=[{"name": "cream", "quantity": "500 ml"}, {"name": "sugar"}],
    )
    assert created["slug"] == "creme-brulee"
    assert created["tagList"] == ["dessert", "french"]
    assert created["body"] == "Roast the tomatoes, then blend."
    assert (created["favorited"], created["favoritesCount"]) == (False, 0)
    assert created["author"] == {
        "username": "jake",
        "bio": None,
        "image": DEFAULT_IMAGE,
        "following": False,
        "followersCount": 0,
        "followingCount": 0,
    }
    assert created["ingredients"] == [
        {"name": "cream", "quantity": "500 ml"},
        {"name": "sugar", "quantity": ""},
    ]
    assert (created["complexity"], created["cookingMinutes"], created["media"]) == (
        "medium",
        45,
        [],
    )
    assert created["createdAt"].endswith("Z") and len(created["createdAt"]) == 24


async def test_media_not_of_the_author_are_refused_without_asking_other_services(
    infra: Infra, auth_client: AppClient, tmp_path: Path
) -> None:
    # The media check ran after the calls to auth and social: under load, one of them
    # timing out made this 422 a 502.
    jake = as_user(await register(auth_client, "jake"))
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}"
    env = infra.env(AUTH_URL=nowhere, SOCIAL_URL=nowhere, MEDIA_DIR=str(tmp_path / "media"))
    async with serving(create_posts(PostsSettings.from_env(Env(env)), **FAST_EVENTS)) as posts:
        for media in (["nope"], ["0" * 32]):
            response = await posts.post("/api/articles", json=article(media=media), headers=jake)
            assert response.status == 422, await response.text()
            assert "media" in (await response.json())["errors"]


async def test_reading_a_missing_article_is_404(posts: AppClient) -> None:
    assert (await posts.get("/api/articles/nothing-here")).status == 404


async def test_only_the_author_may_update_or_delete(posts: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    created = await create(posts, users["jake"])
    slug = created["slug"]
    update = await posts.put(
        f"/api/articles/{slug}", json={"article": {"body": "x"}}, headers=users["anna"]
    )
    assert update.status == 403
    assert (await posts.delete(f"/api/articles/{slug}", headers=users["anna"])).status == 403
    assert (await posts.delete("/api/articles/missing", headers=users["jake"])).status == 404
    assert (await posts.delete(f"/api/articles/{slug}", headers=users["jake"])).status == 204
    assert (await posts.get(f"/api/articles/{slug}")).status == 404


async def test_an_update_is_visible_at_once_and_the_slug_follows_the_title(
    posts: AppClient, users: Users
) -> None:
    await users.add("jake")
    slug = (await create(posts, users["jake"]))["slug"]
    await posts.get(f"/api/articles/{slug}")  # cached now
    await posts.get("/api/articles")
    response = await posts.put(
        f"/api/articles/{slug}",
        json={"article": {"title": "Gazpacho", "tagList": ["cold"]}},
        headers=users["jake"],
    )
    updated = (await response.json())["article"]
    assert (updated["slug"], updated["tagList"]) == ("gazpacho", ["cold"])
    assert (await posts.get(f"/api/articles/{slug}")).status == 404
    fresh = await (await posts.get("/api/articles/gazpacho")).json()
    assert fresh["article"]["title"] == "Gazpacho"
    listing = await (await posts.get("/api/articles")).json()
    assert [a["title"] for a in listing["articles"]] == ["Gazpacho"]
    assert await (await posts.get("/api/tags")).json() == {"tags": ["cold"]}


async def test_favorites_count_with_several_users_and_the_next_read_agrees(
    posts: AppClient, users: Users
) -> None:
    await users.add("jake", "anna", "ben")
    slug = (await create(posts, users["jake"]))["slug"]
    for name in ("anna", "ben", "anna"):
        response = await posts.post(f"/api/articles/{slug}/favorite", headers=users[name])
    liked = (await response.json())["article"]
    assert (liked["favorited"], liked["favoritesCount"]) == (True, 2)
    seen_by_ben = (await (await posts.get(f"/api/articles/{slug}", headers=users["ben"])).json())[
        "article"
    ]
    assert (seen_by_ben["favorited"], seen_by_ben["favoritesCount"]) == (True, 2)
    unliked = await posts.delete(f"/api/articles/{slug}/favorite", headers=users["ben"])
    assert ((await unliked.json())["article"]["favoritesCount"]) == 1
    favorited = await (await posts.get("/api/articles", params={"favorited": "anna"})).json()
    assert [a["slug"] for a in favorited["articles"]] == [slug]
    assert (await posts.post("/api/articles/missing/favorite", headers=users["ben"])).status == 404


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
