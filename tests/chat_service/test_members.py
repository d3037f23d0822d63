"""Members of a group chat: the owner adds and removes them, anyone leaves, and ownership passes on when the owner leaves."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from tests.chat_service.conftest import group
from tests.chat_service.helpers import add, status_of
from tests.factories import DEFAULT_IMAGE
from tests.services import Users
from tests.typing import AppClient


async def test_adding_a_member_makes_them_a_member_at_once(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    response = await chat.post(
        f"/api/chats/{soups['id']}/members", json={"username": "anna"}, headers=users["jake"]
    )
    assert response.status == 201
    assert await response.json() == {
        "member": {"username": "anna", "image": DEFAULT_IMAGE, "online": False, "role": "member"}
    }
    assert await status_of(chat, "GET", f"/api/chats/{soups['id']}", users["anna"]) == 200


async def test_adding_a_member_twice_answers_200_and_keeps_one_membership(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    await add(chat, users["jake"], soups["id"], "anna")
    response = await chat.post(
        f"/api/chats/{soups['id']}/members", json={"username": "anna"}, headers=users["jake"]
    )
    assert response.status == 200
    response = await chat.get(f"/api/chats/{soups['id']}", headers=users["jake"])
    assert (await response.json())["chat"]["membersCount"] == 2


async def test_adding_someone_who_does_not_exist_is_404(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    response = await chat.post(
        f"/api/chats/{soups['id']}/members", json={"username": "nobody"}, headers=users["jake"]
    )
    assert response.status == 404
    assert (await response.json())["errors"]["username"] == ["not found"]


async def test_the_owner_removes_a_member_who_then_stops_seeing_the_chat(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    await add(chat, users["jake"], soups["id"], "anna")
    response = await chat.delete(f"/api/chats/{soups['id']}/members/anna", headers=users["jake"])
    assert response.status == 204
    assert await status_of(chat, "GET", f"/api/chats/{soups['id']}", users["anna"]) == 404


async def test_removing_someone_who_is_not_a_member_is_404(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    response = await chat.delete(f"/api/chats/{soups['id']}/members/anna", headers=users["jake"])
    assert response.status == 404


async def test_a_member_leaves_with_their_own_name_and_stops_seeing_the_chat(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    await add(chat, users["jake"], soups["id"], "anna")
    response = await chat.delete(f"/api/chats/{soups['id']}/members/anna", headers=users["anna"])
    assert response.status == 204
    assert await status_of(chat, "GET", f"/api/chats/{soups['id']}", users["anna"]) == 404
    response = await chat.get("/api/chats", headers=users["anna"])
    assert soups["id"] not in [c["id"] for c in (await response.json())["chats"]]
    response = await chat.get(f"/api/chats/{soups['id']}", headers=users["jake"])
    assert [m["username"] for m in (await response.json())["chat"]["members"]] == ["jake"]


async def test_the_owner_leaving_passes_ownership_to_the_oldest_member(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna", "bob")
    soups = await group(chat, users["jake"])
    await add(chat, users["jake"], soups["id"], "anna", "bob")
    response = await chat.delete(f"/api/chats/{soups['id']}/members/jake", headers=users["jake"])
    assert response.status == 204
    response = await chat.get(f"/api/chats/{soups['id']}", headers=users["bob"])
    detail = (await response.json())["chat"]
    assert detail["owner"] == {"username": "anna", "image": DEFAULT_IMAGE}
    assert [(m["username"], m["role"]) for m in detail["members"]] == [
        ("anna", "owner"),
        ("bob", "member"),
    ]
    response = await chat.patch(
        f"/api/chats/{soups['id']}", json={"chat": {"title": "Anna's"}}, headers=users["anna"]
    )
    assert response.status == 200


async def test_the_owner_and_their_successor_leaving_at_once_leave_the_chat_an_owner(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna", "bob")
    # The race is lost or won by milliseconds: a few rounds make it show.
    for _ in range(5):
        soups = await group(chat, users["jake"])
        await add(chat, users["jake"], soups["id"], "anna", "bob")
        leaving = await asyncio.gather(
            chat.delete(f"/api/chats/{soups['id']}/members/jake", headers=users["jake"]),
            chat.delete(f"/api/chats/{soups['id']}/members/anna", headers=users["anna"]),
        )
        assert [r.status for r in leaving] == [204, 204]
        response = await chat.get(f"/api/chats/{soups['id']}", headers=users["bob"])
        detail = (await response.json())["chat"]
        assert detail["owner"] == {"username": "bob", "image": DEFAULT_IMAGE}
        assert [(m["username"], m["role"]) for m in detail["members"]] == [("bob", "owner")]


async def test_the_last_member_leaving_ends_the_chat(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    response = await chat.delete(f"/api/chats/{soups['id']}/members/jake", headers=users["jake"])
    assert response.status == 204
    assert await db.fetchval("SELECT count(*) FROM chat.chats WHERE id = $1", soups["id"]) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        # No username.
        ({}, "username"),
        # An empty one.
        ({"username": ""}, "username"),
        # A field the API does not know.
        ({"username": "anna", "role": "owner"}, "role"),
    ],
)
async def test_adding_a_member_with_bad_fields_is_422(
    chat: AppClient, users: Users, payload: dict[str, Any], field: str
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    response = await chat.post(
        f"/api/chats/{soups['id']}/members", json=payload, headers=users["jake"]
    )
    assert response.status == 422
    assert field in (await response.json())["errors"]
