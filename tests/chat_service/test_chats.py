"""Chats on a real replica: owner rules, direct and group chats, my chat list, and bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from chat_service.schemas.common import MAX_DESCRIPTION, MAX_TITLE
from tests.chat_service.conftest import Socket, general_id, group, send
from tests.chat_service.helpers import add, status_of
from tests.factories import DEFAULT_IMAGE
from tests.services import Users
from tests.typing import AppClient

OpenSocket = Callable[[AppClient, dict[str, str]], Awaitable[Socket]]


async def direct(
    client: AppClient, headers: dict[str, str], username: str
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        "/api/chats", json={"chat": {"type": "direct", "username": username}}, headers=headers
    )
    return response.status, await response.json()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # Changing the chat.
        ("PATCH", "/api/chats/{chat}", {"chat": {"title": "Anna's"}}),
        # Deleting it.
        ("DELETE", "/api/chats/{chat}", None),
        # Adding someone.
        ("POST", "/api/chats/{chat}/members", {"username": "bob"}),
        # Removing someone else.
        ("DELETE", "/api/chats/{chat}/members/jake", None),
        # Creating an invite link.
        ("POST", "/api/chats/{chat}/invites", {"invite": {}}),
    ],
)
async def test_a_member_who_is_not_the_owner_gets_403(
    chat: AppClient, users: Users, method: str, path: str, body: Any
) -> None:
    await users.add("jake", "anna", "bob")
    soups = await group(chat, users["jake"])
    await add(chat, users["jake"], soups["id"], "anna")
    response = await chat.request(
        method, path.format(chat=soups["id"]), json=body, headers=users["anna"]
    )
    assert response.status == 403
    assert (await response.json())["errors"]["body"][0].startswith("only the chat's owner")


async def test_join_requests_are_hidden_from_a_member_who_is_not_the_owner(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    await add(chat, users["jake"], soups["id"], "anna")
    response = await chat.get(f"/api/chats/{soups['id']}/join-requests", headers=users["anna"])
    assert response.status == 404


async def test_the_owner_changes_a_group_chat(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    changes = {
        "title": "Stews",
        "description": "Slow food",
        "private": True,
        "messageTtlSeconds": 600,
    }
    response = await chat.patch(
        f"/api/chats/{soups['id']}", json={"chat": changes}, headers=users["jake"]
    )
    assert response.status == 200
    changed = (await response.json())["chat"]
    assert {k: changed[k] for k in changes} == changes
    response = await chat.patch(
        f"/api/chats/{soups['id']}",
        json={"chat": {"messageTtlSeconds": None}},
        headers=users["jake"],
    )
    assert (await response.json())["chat"]["messageTtlSeconds"] is None


async def test_the_owner_deletes_a_group_chat_and_it_is_gone_for_everyone(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    await add(chat, users["jake"], soups["id"], "anna")
    response = await chat.delete(f"/api/chats/{soups['id']}", headers=users["jake"])
    assert response.status == 204
    for name in ("jake", "anna"):
        assert await status_of(chat, "GET", f"/api/chats/{soups['id']}", users[name]) == 404


@pytest.mark.parametrize(
    ("kind", "method", "path", "body"),
    [
        # The general chat belongs to nobody.
        ("general", "PATCH", "/api/chats/{chat}", {"chat": {"title": "Mine"}}),
        ("general", "DELETE", "/api/chats/{chat}", None),
        ("general", "POST", "/api/chats/{chat}/members", {"username": "bob"}),
        ("general", "DELETE", "/api/chats/{chat}/members/jake", None),
        ("general", "POST", "/api/chats/{chat}/invites", {"invite": {}}),
        # A direct chat is two people, as they are.
        ("direct", "PATCH", "/api/chats/{chat}", {"chat": {"title": "Us"}}),
        ("direct", "DELETE", "/api/chats/{chat}", None),
        ("direct", "POST", "/api/chats/{chat}/members", {"username": "bob"}),
        ("direct", "DELETE", "/api/chats/{chat}/members/jake", None),
        ("direct", "POST", "/api/chats/{chat}/invites", {"invite": {}}),
    ],
)
async def test_general_and_direct_chats_cannot_be_changed(
    chat: AppClient, users: Users, kind: str, method: str, path: str, body: Any
) -> None:
    await users.add("jake", "anna", "bob")
    if kind == "general":
        chat_id = await general_id(chat, users["jake"])
    else:
        chat_id = (await direct(chat, users["jake"], "anna"))[1]["chat"]["id"]
    response = await chat.request(
        method, path.format(chat=chat_id), json=body, headers=users["jake"]
    )
    assert response.status == 403
    assert await status_of(chat, "GET", f"/api/chats/{chat_id}", users["jake"]) == 200


async def test_opening_a_direct_chat_creates_it_the_first_time(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    status, body = await direct(chat, users["jake"], "anna")
    assert status == 201
    created = body["chat"]
    assert (created["type"], created["title"], created["owner"]) == ("direct", "anna", None)
    response = await chat.get(f"/api/chats/{created['id']}", headers=users["jake"])
    members = (await response.json())["chat"]["members"]
    assert sorted(m["username"] for m in members) == ["anna", "jake"]


async def test_opening_a_direct_chat_again_answers_the_same_chat_from_either_side(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    _, first = await direct(chat, users["jake"], "anna")
    again_status, again = await direct(chat, users["jake"], "anna")
    other_status, other = await direct(chat, users["anna"], "jake")
    assert (again_status, other_status) == (200, 200)
    assert again["chat"]["id"] == other["chat"]["id"] == first["chat"]["id"]


async def test_both_people_opening_their_direct_chat_at_once_get_one_chat(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    (first_status, first), (second_status, second) = await asyncio.gather(
        direct(chat, users["jake"], "anna"), direct(chat, users["anna"], "jake")
    )
    assert sorted([first_status, second_status]) == [200, 201]
    assert first["chat"]["id"] == second["chat"]["id"]
    response = await chat.get(f"/api/chats/{first['chat']['id']}", headers=users["jake"])
    assert (await response.json())["chat"]["membersCount"] == 2


async def test_a_direct_chat_is_titled_with_the_other_persons_name_on_each_side(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    _, body = await direct(chat, users["jake"], "anna")
    chat_id = body["chat"]["id"]
    titles = {}
    for name in ("jake", "anna"):
        response = await chat.get(f"/api/chats/{chat_id}", headers=users[name])
        titles[name] = (await response.json())["chat"]["title"]
    assert titles == {"jake": "anna", "anna": "jake"}


async def test_a_direct_chat_with_yourself_is_422(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    status, body = await direct(chat, users["jake"], "jake")
    assert status == 422
    assert body["errors"]["username"] == ["is yourself"]


async def test_a_direct_chat_with_someone_who_does_not_exist_is_404(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake")
    status, body = await direct(chat, users["jake"], "nobody")
    assert status == 404
    assert body["errors"]["username"] == ["not found"]


async def test_creating_a_group_chat_answers_it_with_me_as_owner(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake")
    response = await chat.post(
        "/api/chats",
        json={"chat": {"type": "group", "title": "Soups", "description": "Hot", "private": True}},
        headers=users["jake"],
    )
    assert response.status == 201
    created = (await response.json())["chat"]
    assert created.pop("createdAt").endswith("Z")
    assert isinstance(created.pop("id"), int)
    assert created == {
        "type": "group",
        "title": "Soups",
        "description": "Hot",
        "private": True,
        "owner": {"username": "jake", "image": DEFAULT_IMAGE},
        "messageTtlSeconds": None,
        "lastSeq": 0,
        "lastMessage": None,
        "unreadCount": 0,
    }


async def test_a_group_chat_is_public_with_no_description_unless_told(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake")
    response = await chat.post(
        "/api/chats", json={"chat": {"type": "group", "title": "Soups"}}, headers=users["jake"]
    )
    created = (await response.json())["chat"]
    assert (created["private"], created["description"]) == (False, "")


async def test_my_chats_list_the_general_chat_from_registration_on(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake")
    response = await chat.get("/api/chats", headers=users["jake"])
    assert response.status == 200
    body = await response.json()
    assert body["chatsCount"] == 1
    (general,) = body["chats"]
    assert (general["type"], general["title"], general["owner"]) == ("general", "General", None)


async def test_my_chats_come_most_recent_activity_first(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"], "Soups")
    await group(chat, users["jake"], "Stews")
    await add(chat, users["jake"], soups["id"], "anna")
    await send(chat, users["anna"], soups["id"], "more salt")
    response = await chat.get("/api/chats", headers=users["jake"])
    body = await response.json()
    assert [c["title"] for c in body["chats"]] == ["Soups", "Stews", "General"]
    assert body["chatsCount"] == 3


async def test_my_chats_show_the_last_message_its_seq_and_my_unread_count(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    await add(chat, users["jake"], soups["id"], "anna")
    await send(chat, users["anna"], soups["id"], "first")
    last = await send(chat, users["anna"], soups["id"], "second")
    response = await chat.get("/api/chats", headers=users["jake"])
    listed = next(c for c in (await response.json())["chats"] if c["id"] == soups["id"])
    assert (listed["lastSeq"], listed["unreadCount"]) == (2, 2)
    assert listed["lastMessage"] == last


async def test_my_chats_page_with_limit_and_offset(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    for title in ("One", "Two", "Three"):
        await group(chat, users["jake"], title)
    response = await chat.get("/api/chats?limit=2&offset=1", headers=users["jake"])
    body = await response.json()
    assert [c["title"] for c in body["chats"]] == ["Two", "One"]
    assert body["chatsCount"] == 4


async def test_a_chat_shows_its_members_with_role_and_presence(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    await add(chat, users["jake"], soups["id"], "anna")
    response = await chat.get(f"/api/chats/{soups['id']}", headers=users["anna"])
    assert response.status == 200
    detail = (await response.json())["chat"]
    assert detail["members"] == [
        {"username": "jake", "image": DEFAULT_IMAGE, "online": False, "role": "owner"},
        {"username": "anna", "image": DEFAULT_IMAGE, "online": False, "role": "member"},
    ]
    assert detail["membersCount"] == 2
    assert (detail["title"], detail["type"]) == ("Soups", "group")


async def test_a_member_with_a_connected_device_is_online(
    chat: AppClient, users: Users, sockets: OpenSocket
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    await add(chat, users["jake"], soups["id"], "anna")
    await sockets(chat, users["anna"])
    response = await chat.get(f"/api/chats/{soups['id']}", headers=users["jake"])
    online = {m["username"]: m["online"] for m in (await response.json())["chat"]["members"]}
    assert online == {"jake": False, "anna": True}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        # A field the API does not know.
        ({"chat": {"type": "group", "title": "Soups", "colour": "red"}}, "colour"),
        # A key beside the envelope.
        ({"chat": {"type": "group", "title": "Soups"}, "extra": 1}, "extra"),
        # No envelope at all.
        ({"type": "group", "title": "Soups"}, "chat"),
        # A kind of chat that does not exist.
        ({"chat": {"type": "channel", "title": "Soups"}}, "type"),
        # No type.
        ({"chat": {"title": "Soups"}}, "type"),
        # A group chat needs a title.
        ({"chat": {"type": "group"}}, "title"),
        # An empty title.
        ({"chat": {"type": "group", "title": ""}}, "title"),
        # A blank title.
        ({"chat": {"type": "group", "title": "   "}}, "title"),
        # A title over the limit.
        ({"chat": {"type": "group", "title": "x" * (MAX_TITLE + 1)}}, "title"),
        # A description over the limit.
        (
            {"chat": {"type": "group", "title": "S", "description": "x" * (MAX_DESCRIPTION + 1)}},
            "description",
        ),
        # A title that is not a string.
        ({"chat": {"type": "group", "title": 5}}, "title"),
        # private that is not a boolean.
        ({"chat": {"type": "group", "title": "Soups", "private": "maybe"}}, "private"),
        # A username is for direct chats.
        ({"chat": {"type": "group", "title": "Soups", "username": "anna"}}, "username"),
        # A direct chat needs the other person.
        ({"chat": {"type": "direct"}}, "username"),
        # A title is for group chats.
        ({"chat": {"type": "direct", "username": "anna", "title": "Us"}}, "title"),
    ],
)
async def test_creating_a_chat_with_bad_fields_is_422_naming_the_field(
    chat: AppClient, users: Users, payload: dict[str, Any], field: str
) -> None:
    await users.add("jake", "anna")
    response = await chat.post("/api/chats", json=payload, headers=users["jake"])
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert field in errors, errors
    assert errors["body"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        # Nothing to change.
        ({}, "chat"),
        # A field the API does not know.
        ({"owner": "anna"}, "owner"),
        # A blank title.
        ({"title": " "}, "title"),
        # A title over the limit.
        ({"title": "x" * (MAX_TITLE + 1)}, "title"),
        # A lifetime of zero seconds.
        ({"messageTtlSeconds": 0}, "messageTtlSeconds"),
        # A lifetime over a year.
        ({"messageTtlSeconds": 365 * 24 * 3600 + 1}, "messageTtlSeconds"),
        # A lifetime that is not a whole number.
        ({"messageTtlSeconds": "soon"}, "messageTtlSeconds"),
        # private that is not a boolean.
        ({"private": [True]}, "private"),
    ],
)
async def test_changing_a_chat_with_bad_fields_is_422_naming_the_field(
    chat: AppClient, users: Users, changes: dict[str, Any], field: str
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    response = await chat.patch(
        f"/api/chats/{soups['id']}", json={"chat": changes}, headers=users["jake"]
    )
    assert response.status == 422
    assert field in (await response.json())["errors"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/chats"),
        ("PATCH", "/api/chats/{chat}"),
        ("POST", "/api/chats/{chat}/members"),
        ("POST", "/api/chats/{chat}/messages"),
        ("POST", "/api/chats/{chat}/read"),
    ],
)
async def test_a_body_that_is_not_json_is_400(
    chat: AppClient, users: Users, method: str, path: str
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    headers = {**users["jake"], "Content-Type": "application/json"}
    response = await chat.request(
        method, path.format(chat=soups["id"]), data="{not json", headers=headers
    )
    assert response.status == 400
    assert (await response.json())["errors"]["body"] == ["the request body is not valid JSON"]


async def test_a_body_of_another_content_type_is_400(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    headers = {**users["jake"], "Content-Type": "text/plain"}
    response = await chat.post("/api/chats", data="type=group", headers=headers)
    assert response.status == 400
