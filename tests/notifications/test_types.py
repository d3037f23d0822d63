"""Each type of notification end to end through the gateway (two chat replicas behind it):
made by another person's action, on the recipient's socket and in their list, exactly once;
never for one's own action."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.e2e.test_chat import general_of, next_of
from tests.e2e.test_moderation import as_role
from tests.e2e.test_realworld import call, signup
from tests.infra import Infra
from tests.notifications.live import listed, notifications_of, received, recipe
from tests.waiting import until


async def test_a_follow_notifies_the_followed_live_and_in_the_list(
    api: aiohttp.ClientSession,
) -> None:
    anna = await signup(api, "anna")
    jake = await signup(api, "jake")
    async with api.ws_connect(f"/api/chat/ws?token={anna}") as ws:
        await next_of(ws, "hello")
        assert (await call(api, "POST", "/api/profiles/anna/follow", jake))[0] == 200
        live = await received(ws, "notification.created", 1)
    stored = await listed(api, anna, 1)

    assert [n["type"] for n in live] == ["followed"]
    assert live[0]["actor"]["username"] == "jake"
    assert live[0]["read"] is False
    assert stored == live
    assert set(stored[0]) == {
        "id", "type", "actor", "article", "comment", "chat", "message", "reason", "createdAt",
        "read",
    }  # fmt: skip


async def test_a_like_and_a_comment_notify_the_recipes_author(api: aiohttp.ClientSession) -> None:
    anna = await signup(api, "anna")
    jake = await signup(api, "jake")
    slug = await recipe(api, anna, "Pea soup")
    async with api.ws_connect(f"/api/chat/ws?token={anna}") as ws:
        await next_of(ws, "hello")
        assert (await call(api, "POST", f"/api/articles/{slug}/favorite", jake))[0] == 200
        comment = {"comment": {"body": "lovely"}}
        status, body = await call(api, "POST", f"/api/articles/{slug}/comments", jake, json=comment)
        assert status == 200, body
        live = await received(ws, "notification.created", 2)
    stored = await listed(api, anna, 2)

    by_type = {n["type"]: n for n in live}
    assert sorted(by_type) == ["commented", "favorited"]
    assert by_type["favorited"]["article"] == {"slug": slug, "title": "Pea soup"}
    assert by_type["commented"]["comment"] == {"id": body["comment"]["id"], "body": "lovely"}
    assert by_type["commented"]["actor"]["username"] == "jake"
    # The live event and the list show each notification alike (one is composed in SQL).
    assert _by_id(stored) == _by_id(live)


async def test_nobody_is_notified_of_their_own_actions(api: aiohttp.ClientSession) -> None:
    anna = await signup(api, "anna")
    jake = await signup(api, "jake")
    slug = await recipe(api, anna)
    await call(api, "POST", f"/api/articles/{slug}/favorite", anna)
    await call(
        api, "POST", f"/api/articles/{slug}/comments", anna, json={"comment": {"body": "@anna"}}
    )
    # A later notification shows that the consumer got past the earlier events.
    await call(api, "POST", "/api/profiles/anna/follow", jake)

    assert [n["type"] for n in await listed(api, anna, 1)] == ["followed"]


async def test_a_mention_in_a_recipe_comment_notifies_the_person_named(
    api: aiohttp.ClientSession,
) -> None:
    anna = await signup(api, "anna")
    jake = await signup(api, "jake")
    bob = await signup(api, "bob")
    slug = await recipe(api, anna)
    async with api.ws_connect(f"/api/chat/ws?token={bob}") as ws:
        await next_of(ws, "hello")
        body = {"comment": {"body": "@Bob you must try this (and @anna, and me@jake.example)"}}
        assert (await call(api, "POST", f"/api/articles/{slug}/comments", jake, json=body))[
            0
        ] == 200
        live = await received(ws, "notification.created", 1)

    assert [(n["type"], n["actor"]["username"], n["article"]["slug"]) for n in live] == [
        ("mentioned", "jake", slug)
    ]
    assert await listed(api, bob, 1) == live
    # The recipe's author hears of the comment once, as a comment.
    assert [n["type"] for n in await listed(api, anna, 1)] == ["commented"]
    assert await listed(api, jake, 0) == []


async def test_a_mention_in_chat_reaches_members_only(api: aiohttp.ClientSession) -> None:
    anna = await signup(api, "anna")
    bob = await signup(api, "bob")
    carl = await signup(api, "carl")
    group = {"chat": {"type": "group", "title": "Cooks", "private": True}}
    status, chat = await call(api, "POST", "/api/chats", anna, json=group)
    assert status == 201, chat
    chat_id = chat["chat"]["id"]
    async with api.ws_connect(f"/api/chat/ws?token={bob}") as ws:
        await next_of(ws, "hello")
        assert (
            await call(api, "POST", f"/api/chats/{chat_id}/members", anna, json={"username": "bob"})
        )[0] == 201
        message = {"message": {"body": "@bob and @carl: dinner?"}}
        status, sent = await call(api, "POST", f"/api/chats/{chat_id}/messages", anna, json=message)
        assert status == 201, sent
        live = await received(ws, "notification.created", 2)
    general = await general_of(api, anna)
    shout = {"message": {"body": "hello @carl"}}
    status, in_general = await call(api, "POST", f"/api/chats/{general}/messages", anna, json=shout)
    assert status == 201

    by_type = {n["type"]: n for n in live}
    assert sorted(by_type) == ["chat.invited", "mentioned"]
    assert by_type["chat.invited"]["chat"] == {"id": chat_id, "title": "Cooks"}
    assert by_type["chat.invited"]["actor"]["username"] == "anna"
    assert by_type["mentioned"]["message"] == {"id": sent["message"]["id"], "seq": 1}
    assert _by_id(await listed(api, bob, 2)) == _by_id(live)
    # carl is no member of the private chat: only the general chat's mention reaches him.
    (carls,) = await listed(api, carl, 1)
    assert carls["chat"] == {"id": general, "title": "General"}
    assert carls["message"]["id"] == in_general["message"]["id"]


async def test_a_mention_in_a_direct_chat_names_the_chat_after_the_other_person(
    api: aiohttp.ClientSession,
) -> None:
    anna = await signup(api, "anna")
    bob = await signup(api, "bob")
    status, chat = await call(
        api, "POST", "/api/chats", anna, json={"chat": {"type": "direct", "username": "bob"}}
    )
    assert status in (200, 201), chat
    chat_id = chat["chat"]["id"]
    async with api.ws_connect(f"/api/chat/ws?token={bob}") as ws:
        await next_of(ws, "hello")
        message = {"message": {"body": "@bob, lunch?"}}
        status, sent = await call(api, "POST", f"/api/chats/{chat_id}/messages", anna, json=message)
        assert status == 201, sent
        live = await received(ws, "notification.created", 1)

    mentions = [n for n in live if n["type"] == "mentioned"]
    assert [(n["chat"], n["actor"]["username"]) for n in mentions] == [
        ({"id": chat_id, "title": "anna"}, "anna")
    ]
    assert [n for n in await listed(api, bob, 1) if n["type"] == "mentioned"] == mentions


async def test_a_decided_join_request_notifies_the_requester(api: aiohttp.ClientSession) -> None:
    anna = await signup(api, "anna")
    carl = await signup(api, "carl")
    group = {"chat": {"type": "group", "title": "Secret", "private": True}}
    chat_id = (await call(api, "POST", "/api/chats", anna, json=group))[1]["chat"]["id"]
    code = (await call(api, "POST", f"/api/chats/{chat_id}/invites", anna, json={"invite": {}}))[1][
        "invite"
    ]["code"]
    status, asked = await call(api, "POST", f"/api/chats/join/{code}", carl)
    assert status == 202, asked
    request_id = asked["joinRequest"]["id"]
    async with api.ws_connect(f"/api/chat/ws?token={carl}") as ws:
        await next_of(ws, "hello")
        path = f"/api/chats/{chat_id}/join-requests/{request_id}/approve"
        assert (await call(api, "POST", path, anna))[0] == 200
        live = await received(ws, "notification.created", 1)
    decided = [n for n in live if n["type"] == "chat.join_decided"]

    assert [(n["reason"], n["chat"]) for n in decided] == [
        ("approved", {"id": chat_id, "title": "Secret"})
    ]
    assert [n for n in await listed(api, carl, 1) if n["type"] == "chat.join_decided"] == decided


async def test_a_moderators_removals_and_ban_tell_the_author_why(
    api: aiohttp.ClientSession, infra: Infra
) -> None:
    mod = await as_role(api, infra, "mod", "moderator")
    anna = await signup(api, "anna")
    jake = await signup(api, "jake")
    slug = await recipe(api, jake, "Mud pie")
    status, comment = await call(
        api, "POST", f"/api/articles/{slug}/comments", anna, json={"comment": {"body": "spam"}}
    )
    assert status == 200, comment
    general = await general_of(api, anna)
    status, message = await call(
        api, "POST", f"/api/chats/{general}/messages", anna, json={"message": {"body": "buy"}}
    )
    assert status == 201, message
    async with api.ws_connect(f"/api/chat/ws?token={anna}") as ws:
        await next_of(ws, "hello")
        path = f"/api/articles/{slug}/comments/{comment['comment']['id']}?reason=advertising"
        assert (await call(api, "DELETE", path, mod))[0] == 204
        path = f"/api/chats/{general}/messages/{message['message']['id']}?reason=flooding"
        assert (await call(api, "DELETE", path, mod))[0] == 204
        ban = {"ban": {"username": "anna", "seconds": 60, "reason": "repeat offender"}}
        assert (await call(api, "POST", "/api/moderation/bans", mod, json=ban))[0] == 201
        live = await received(ws, "notification.created", 3)
    assert (await call(api, "DELETE", f"/api/articles/{slug}?reason=unsafe", mod))[0] == 204

    assert _by_id(await listed(api, anna, 3)) == _by_id(live)
    reasons = sorted(n["reason"] for n in live)
    assert reasons == ["advertising", "flooding", "repeat offender"]
    assert all(n["type"] == "moderation" and n["actor"] is None for n in live)
    removed_comment = next(n for n in live if n["reason"] == "advertising")
    assert removed_comment["comment"] == {"id": comment["comment"]["id"], "body": "spam"}
    removed_message = next(n for n in live if n["reason"] == "flooding")
    assert removed_message["message"]["id"] == message["message"]["id"]
    # jake's recipe is gone, and anna's removed comment's notification with it: what is left
    # is why.
    (removed_recipe,) = await until(lambda: _only_moderation(api, jake), timeout=10)
    assert removed_recipe["reason"] == "unsafe"
    assert removed_recipe["article"] == {"slug": slug, "title": "Mud pie"}


async def _only_moderation(api: aiohttp.ClientSession, token: str) -> list[dict[str, Any]] | None:
    found = (await notifications_of(api, token))["notifications"]
    return found if [n["type"] for n in found] == ["moderation"] else None


def _by_id(notifications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(notifications, key=lambda notification: int(notification["id"]))
