"""The standard data set, created through the public API of a running stack.

`python -m bench.seed [GATEWAY_URL]` (what `make seed` runs against `make run`): users, follows,
thousands of recipes with tags, likes and comments. The same seed gives the same data; running
it twice logs the users in again and adds the content again.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp

USERS = 50
FOLLOWS_PER_USER = 10
ARTICLES = 3000
LIKES = 6000
COMMENTS = 1500
TAGS = [
    f"{kind}"
    for kind in (
        "soup",
        "salad",
        "bread",
        "pasta",
        "rice",
        "curry",
        "stew",
        "grill",
        "vegan",
        "vegetarian",
        "fish",
        "chicken",
        "beef",
        "pork",
        "dessert",
        "cake",
        "cookies",
        "breakfast",
        "brunch",
        "quick",
        "slow-cooker",
        "spicy",
        "sweet",
        "sour",
        "street-food",
        "holiday",
        "picnic",
        "budget",
        "kids",
        "party",
    )
]
PASSWORD = "seed-password-1"
CONCURRENCY = 16


@dataclass
class Seeded:
    tokens: dict[str, str]
    slugs: list[str]


async def _in_parallel(calls: Iterable[Callable[[], Awaitable[Any]]]) -> list[Any]:
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def guarded(call: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await call()

    return await asyncio.gather(*(guarded(call) for call in calls))


async def _json(
    session: aiohttp.ClientSession, method: str, path: str, token: str | None = None, **kwargs: Any
) -> Any:
    headers = {"Authorization": f"Token {token}"} if token else {}
    async with session.request(method, path, headers=headers, **kwargs) as response:
        if response.status >= 400 and response.status != 422:
            raise RuntimeError(f"{method} {path}: {response.status} {await response.text()}")
        return await response.json() if response.status != 204 else None


async def seed(base_url: str, seed_value: int = 7, articles: int = ARTICLES) -> Seeded:
    """The standard data set; `articles` scales it down (likes and comments in proportion)."""
    rng = random.Random(seed_value)
    share = articles / ARTICLES
    names = [f"cook{index:03d}" for index in range(USERS)]
    async with aiohttp.ClientSession(base_url=base_url) as session:

        async def account(name: str) -> tuple[str, str]:
            user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
            body = await _json(session, "POST", "/api/users", json={"user": user})
            if "errors" in body:  # seeded before: log in instead
                credentials = {"email": user["email"], "password": PASSWORD}
                body = await _json(session, "POST", "/api/users/login", json={"user": credentials})
            return name, body["user"]["token"]

        tokens = dict(await _in_parallel(partial(account, n) for n in names))
        follows = [(a, b) for a in names for b in rng.sample(names, FOLLOWS_PER_USER) if a != b]
        await _in_parallel(
            partial(_json, session, "POST", f"/api/profiles/{b}/follow", tokens[a])
            for a, b in follows
        )

        async def article(index: int) -> str:
            author = rng.choice(names)
            fields = {
                "title": f"Recipe {index}: {rng.choice(TAGS)} with {rng.choice(TAGS)}",
                "description": "A dish from the standard data set",
                "body": "Chop, stir and taste. " * rng.randint(10, 60),
                "tagList": rng.sample(TAGS, rng.randint(1, 3)),
                "complexity": rng.choice(["easy", "medium", "hard"]),
                "cookingMinutes": rng.randint(5, 240),
                "ingredients": [{"name": "salt", "quantity": "a pinch"}],
            }
            body = await _json(
                session, "POST", "/api/articles", tokens[author], json={"article": fields}
            )
            return str(body["article"]["slug"])

        slugs = await _in_parallel(partial(article, i) for i in range(articles))
        likes = {(rng.choice(names), rng.choice(slugs)) for _ in range(round(LIKES * share))}
        await _in_parallel(
            partial(_json, session, "POST", f"/api/articles/{s}/favorite", tokens[u])
            for u, s in likes
        )
        await _in_parallel(
            partial(
                _json,
                session,
                "POST",
                f"/api/articles/{rng.choice(slugs)}/comments",
                tokens[rng.choice(names)],
                json={"comment": {"body": f"Tried it, comment {i}."}},
            )
            for i in range(round(COMMENTS * share))
        )
    return Seeded(tokens, slugs)


def main() -> None:
    base_url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
    started = time.monotonic()
    seeded = asyncio.run(seed(base_url))
    print(
        f"seeded {len(seeded.tokens)} users, {len(seeded.slugs)} articles, likes, follows and "
        f"comments in {time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
