"""Articles and recipes: create, read, update, delete, lists and filters, favorites, feed."""

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from posts_service.app import create_app as create_posts
from posts_service.settings import PostsSettings
from shared.settings import Env
from tests.factories import DEFAULT_IMAGE, as_user, register
from tests.infra import Infra
from tests.redis_text import text
from tests.services import FAST_EVENTS, Users, serving
from tests.typing import AppClient


def article(title: str = "Tomato soup", **extra: Any) -> dict[str, Any]:
    return {
        "article": {
            "title": title,
            "description": "A warm classic",
            "body": "Roast the tomatoes, then blend.",
            **extra,
        }
    }


async def create(
    posts: AppClient, headers: dict[str, str], title: str = "Tomato soup", **extra: Any
) -> dict[str, Any]:
    response = await posts.post("/api/articles", json=article(title, **extra), headers=headers)
    assert response.status == 201, await response.text()
    return (await response.json())["article"]  # type: ignore[no-any-return]


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


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"article": {"description": "d", "body": "b"}}, "title"),
        ({"article": {"title": "t", "description": "d"}}, "body"),
        (
            {"article": {"title": "t", "description": "d", "body": "b", "complexity": "insane"}},
            "complexity",
        ),
        (
            {"article": {"title": "t", "description": "d", "body": "b", "cookingMinutes": -5}},
            "cookingMinutes",
        ),
        (
            {"article": {"title": "t", "description": "d", "body": "b", "tagList": "soup"}},
            "tagList",
        ),
        ({"article": {"title": "t", "description": "d", "body": "b", "media": ["nope"]}}, "media"),
        (
            {
                "article": {
                    "title": "t",
                    "description": "d",
                    "body": "b",
                    "ingredients": [{"quantity": "1"}],
                }
            },
            "ingredients.0.name",
        ),
    ],
)
async def test_invalid_articles_are_422(
    posts: AppClient, users: Users, payload: dict[str, Any], field: str
) -> None:
    await users.add("jake")
    response = await posts.post("/api/articles", json=payload, headers=users["jake"])
    assert response.status == 422
    assert field in (await response.json())["errors"]


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
