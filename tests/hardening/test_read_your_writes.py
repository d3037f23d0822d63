"""A user reads their own writes: right after `PUT /api/user` answers, every cached read
that shows the profile shows the change (auth makes the caches stale before it answers; the
`user.updated` event comes later). Through the gateway of the stack, whose services
consume events as deployed."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.factories import call, signup


async def reads(api: aiohttp.ClientSession, token: str, name: str, slug: str) -> list[Any]:
    """The profile as every cached read shows it: the profile, one article, a list."""
    shown = []
    status, profile = await call(api, "GET", f"/api/profiles/{name}", token)
    assert status == 200, profile
    shown.append(profile["profile"])
    status, article = await call(api, "GET", f"/api/articles/{slug}", token)
    assert status == 200, article
    shown.append(article["article"]["author"])
    for query in (f"author={name}", ""):
        status, page = await call(api, "GET", f"/api/articles?{query}", token)
        assert status == 200, page
        shown.append(page["articles"][0]["author"])
    return [(author["username"], author["bio"], author["image"]) for author in shown]


async def test_a_profile_change_shows_at_once_in_every_cached_read(
    api: aiohttp.ClientSession,
) -> None:
    jake = await signup(api, "jake")
    token = jake["token"]
    body = {"article": {"title": "Soup", "description": "d", "body": "b"}}
    status, created = await call(api, "POST", "/api/articles", token, json=body)
    assert status == 201, created
    slug = created["article"]["slug"]
    name = "jake"
    for attempt in range(3):
        await reads(api, token, name, slug)  # every cache warm with the old profile
        bio, image = f"bio {attempt}", f"https://images.example.org/{attempt}.png"
        change: dict[str, Any] = {"bio": bio, "image": image}
        if attempt == 2:
            name = "jake2"
            change["username"] = name
        status, answer = await call(api, "PUT", "/api/user", token, json={"user": change})
        assert status == 200, answer
        assert await reads(api, token, name, slug) == [(name, bio, image)] * 4, attempt
