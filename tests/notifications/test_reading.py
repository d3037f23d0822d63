"""Reading notifications: folding repeats, read markers shared by a user's sockets, paging and
the type filter, what goes with deleted accounts, recipes and comments, and bad input."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.e2e.test_chat import next_of
from tests.e2e.test_realworld import call, signup
from tests.notifications.live import listed, notifications_of, received, recipe
from tests.waiting import until


async def test_like_unlike_like_within_the_hour_is_one_notification(
    api: aiohttp.ClientSession,
) -> None:
    anna = await signup(api, "anna")
    jake = await signup(api, "jake")
    slug = await recipe(api, anna)
    async with api.ws_connect(f"/api/chat/ws?token={anna}") as ws:
        await next_of(ws, "hello")
        for method in ("POST", "DELETE", "POST", "DELETE", "POST"):
            assert (await call(api, method, f"/api/articles/{slug}/favorite", jake))[0] == 200
        for method in ("POST", "DELETE", "POST"):
            assert (await call(api, method, "/api/profiles/anna/follow", jake))[0] == 200
        live = await received(ws, "notification.created", 2, quiet=1.0)

    assert sorted(n["type"] for n in live) == ["favorited", "followed"]
    assert sorted(n["type"] for n in await listed(api, anna, 2)) == ["favorited", "followed"]
    assert (await notifications_of(api, anna))["unreadCount"] == 2


async def test_marking_read_on_one_socket_updates_every_socket_of_the_user(
    api: aiohttp.ClientSession,
) -> None:
    anna = await signup(api, "anna")
    jake = await signup(api, "jake")
    slugs = [await recipe(api, anna, f"Dish {n}") for n in range(3)]
    for slug in slugs:
        await call(api, "POST", f"/api/articles/{slug}/favorite", jake)
    newest, middle, oldest = await listed(api, anna, 3)
    async with (
        api.ws_connect(f"/api/chat/ws?token={anna}") as phone,
        api.ws_connect(f"/api/chat/ws?token={anna}") as laptop,
    ):
        await next_of(phone, "hello")
        await next_of(laptop, "hello")
        status, one = await call(
            api, "POST", "/api/notifications/read", anna, json={"ids": [middle["id"]]}
        )
        assert status == 200, one
        on_phone = await received(phone, "notification.read", 1)
        on_laptop = await received(laptop, "notification.read", 1)
        status, rest = await call(
            api, "POST", "/api/notifications/read", anna, json={"upTo": newest["id"]}
        )
        assert status == 200, rest
        then_phone = await received(phone, "notification.read", 1)
        then_laptop = await received(laptop, "notification.read", 1)
    status, badge = await call(api, "GET", "/api/notifications/unread-count", anna)

    assert one == {"unreadCount": 2}
    assert on_phone == on_laptop == [{"unreadCount": 2, "upTo": None, "ids": [middle["id"]]}]
    assert rest == {"unreadCount": 0}
    assert then_phone == then_laptop == [{"unreadCount": 0, "upTo": newest["id"], "ids": None}]
    assert (status, badge) == (200, {"unreadCount": 0})
    assert all(n["read"] for n in (await notifications_of(api, anna))["notifications"])
    assert oldest["read"] is False  # as it was listed before


async def test_pages_newest_first_by_cursor_and_filters_by_type(
    api: aiohttp.ClientSession,
) -> None:
    anna = await signup(api, "anna")
    jake = await signup(api, "jake")
    slugs = [await recipe(api, anna, f"Dish {n}") for n in range(7)]
    for slug in slugs:
        await call(api, "POST", f"/api/articles/{slug}/favorite", jake)
    await call(api, "POST", "/api/profiles/anna/follow", jake)
    everything = await listed(api, anna, 8)

    pages: list[list[dict[str, Any]]] = []
    cursor = ""
    while True:
        page = await notifications_of(api, anna, f"?limit=3{cursor}")
        pages.append(page["notifications"])
        if page["nextCursor"] is None:
            break
        cursor = f"&before={page['nextCursor']}"
    follows = await notifications_of(api, anna, "?types=followed,mentioned")

    assert [n["id"] for n in everything] == sorted((n["id"] for n in everything), reverse=True)
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [n for p in pages for n in p] == everything
    assert [n["type"] for n in follows["notifications"]] == ["followed"]
    assert follows["unreadCount"] == 8


async def test_deleted_comments_recipes_and_accounts_take_their_notifications(
    api: aiohttp.ClientSession,
) -> None:
    anna = await signup(api, "anna")
    jake = await signup(api, "jake")
    bob = await signup(api, "bob")
    kept = await recipe(api, anna, "Kept")
    gone = await recipe(api, anna, "Gone")
    status, comment = await call(
        api, "POST", f"/api/articles/{kept}/comments", bob, json={"comment": {"body": "hm"}}
    )
    assert status == 200
    await call(api, "POST", f"/api/articles/{gone}/favorite", bob)
    await call(api, "POST", f"/api/articles/{kept}/favorite", jake)
    await call(api, "POST", "/api/profiles/anna/follow", jake)
    assert len(await listed(api, anna, 4)) == 4

    path = f"/api/articles/{kept}/comments/{comment['comment']['id']}"
    assert (await call(api, "DELETE", path, bob))[0] == 204
    assert (await call(api, "DELETE", f"/api/articles/{gone}", anna))[0] == 204
    (left_by_bob,) = await until(lambda: _types_of(api, anna, ["favorited", "followed"]))
    assert (await call(api, "DELETE", "/api/user", jake))[0] == 204
    (left_by_jake,) = await until(lambda: _types_of(api, anna, []))

    assert [n["actor"]["username"] for n in left_by_bob] == ["jake", "jake"]
    assert left_by_jake == []
    assert (await notifications_of(api, anna))["unreadCount"] == 0


async def _types_of(
    api: aiohttp.ClientSession, token: str, expected: list[str]
) -> tuple[list[dict[str, Any]]] | None:
    """The list (in a tuple: an empty list is an answer) once its types are `expected`."""
    found: list[dict[str, Any]] = (await notifications_of(api, token))["notifications"]
    return (found,) if sorted(n["type"] for n in found) == expected else None


async def test_bad_input_is_refused_with_the_field_named(api: aiohttp.ClientSession) -> None:
    anna = await signup(api, "anna")
    cases: list[tuple[str, str, dict[str, Any] | None, int, str]] = [
        # An unknown type in the filter.
        ("GET", "/api/notifications?types=followed,poked", None, 422, "types"),
        # A cursor that is no id, a page too large.
        ("GET", "/api/notifications?before=abc", None, 422, "before"),
        ("GET", "/api/notifications?limit=101", None, 422, "limit"),
        # A number as text, an empty list, an unknown field.
        ("POST", "/api/notifications/read", {"upTo": "3"}, 422, "upTo"),
        ("POST", "/api/notifications/read", {"all": True}, 422, "all"),
        ("POST", "/api/notifications/read", {"ids": []}, 422, "ids"),
    ]
    for method, path, body, expected, field in cases:
        status, answer = await call(api, method, path, anna, json=body)
        assert (status, field in answer["errors"]) == (expected, True), (path, body, answer)
    anonymous, _ = await call(api, "GET", "/api/notifications")
    assert anonymous == 401


async def test_marking_anothers_notification_changes_nothing(api: aiohttp.ClientSession) -> None:
    anna = await signup(api, "anna")
    jake = await signup(api, "jake")
    await call(api, "POST", "/api/profiles/anna/follow", jake)
    (followed,) = await listed(api, anna, 1)

    status, answer = await call(
        api, "POST", "/api/notifications/read", jake, json={"ids": [followed["id"]]}
    )

    assert (status, answer) == (200, {"unreadCount": 0})
    assert (await notifications_of(api, anna))["unreadCount"] == 1
