"""Users as chat knows them: learnt from auth's events, fetched from auth only on first use."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from chat_service.queries import users as q_users
from tests.chat_service.conftest import chat_app, general_id, group, send
from tests.factories import DEFAULT_IMAGE
from tests.infra import Infra
from tests.services import Users, base_url, serving
from tests.typing import AppClient
from tests.waiting import until


async def known_to_chat(db: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await db.fetchrow(
        "SELECT username, deleted FROM chat.users WHERE id = $1", user_id
    )
    return row


async def forget(db: asyncpg.Connection, user_id: int) -> None:
    """chat as it was before it heard of the account: no user row, no memberships."""
    await db.execute("DELETE FROM chat.chat_members WHERE user_id = $1", user_id)
    await db.execute("DELETE FROM chat.users WHERE id = $1", user_id)


async def history(client: AppClient, headers: dict[str, str], chat_id: int) -> list[Any]:
    response = await client.get(f"/api/chats/{chat_id}/messages", headers=headers)
    assert response.status == 200, await response.text()
    return (await response.json())["messages"]  # type: ignore[no-any-return]


async def test_a_registered_user_joins_the_general_chat_from_auths_event_alone(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    jake = users.ids["jake"]

    async def in_general() -> bool:
        return bool(
            await db.fetchval(
                """SELECT true FROM chat.chat_members m JOIN chat.chats c ON c.id = m.chat_id
                   WHERE m.user_id = $1 AND c.kind = 'general'""",
                jake,
            )
        )

    # No request reaches chat: only the event can have told it.
    assert await until(in_general)
    row = await known_to_chat(db, jake)
    assert row is not None
    assert (row["username"], row["deleted"]) == ("jake", False)


async def test_a_renamed_user_shows_the_new_name_on_their_messages(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    general = await general_id(chat, users["jake"])
    await send(chat, users["jake"], general, "hello")
    response = await users.auth.put(
        "/api/user", json={"user": {"username": "jacob"}}, headers=users["jake"]
    )
    assert response.status == 200, await response.text()

    async def renamed() -> bool:
        row = await known_to_chat(db, users.ids["jake"])
        return row is not None and row["username"] == "jacob"

    assert await until(renamed)
    (message,) = await history(chat, users["anna"], general)
    assert message["author"] == {"username": "jacob", "image": DEFAULT_IMAGE}


async def test_a_renamed_user_is_found_by_the_new_name(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["anna"])
    await users.auth.put("/api/user", json={"user": {"username": "jacob"}}, headers=users["jake"])

    async def renamed() -> bool:
        row = await known_to_chat(db, users.ids["jake"])
        return row is not None and row["username"] == "jacob"

    assert await until(renamed)
    response = await chat.post(
        f"/api/chats/{soups['id']}/members", json={"username": "jacob"}, headers=users["anna"]
    )
    assert response.status == 201
    assert (await response.json())["member"]["username"] == "jacob"


async def test_a_deleted_account_leaves_tombstones_without_an_author(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    general = await general_id(chat, users["jake"])
    sent = await send(chat, users["jake"], general, "goodbye")
    await send(chat, users["anna"], general, "stay")
    response = await users.auth.delete("/api/user", headers=users["jake"])
    assert response.status == 204, await response.text()

    async def tombstoned() -> bool:
        first, *_ = await history(chat, users["anna"], general)
        return bool(first["deleted"])

    assert await until(tombstoned)
    first, second = await history(chat, users["anna"], general)
    assert (first["id"], first["seq"]) == (sent["id"], sent["seq"])
    assert (first["body"], first["author"], first["deleted"]) == (None, None, True)
    assert (second["body"], second["author"]["username"]) == ("stay", "anna")


async def test_a_deleted_account_leaves_its_chats(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["anna"])
    await chat.post(
        f"/api/chats/{soups['id']}/members", json={"username": "jake"}, headers=users["anna"]
    )
    await users.auth.delete("/api/user", headers=users["jake"])

    async def gone() -> bool:
        count: int = await db.fetchval(
            "SELECT count(*) FROM chat.chat_members WHERE user_id = $1", users.ids["jake"]
        )
        return count == 0

    assert await until(gone)
    response = await chat.get(f"/api/chats/{soups['id']}", headers=users["anna"])
    detail = (await response.json())["chat"]
    assert ([m["username"] for m in detail["members"]], detail["membersCount"]) == (["anna"], 1)


async def test_a_deleted_owner_passes_their_group_chat_to_the_oldest_member(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna", "bob")
    soups = await group(chat, users["jake"])
    for name in ("anna", "bob"):
        await chat.post(
            f"/api/chats/{soups['id']}/members", json={"username": name}, headers=users["jake"]
        )
    await users.auth.delete("/api/user", headers=users["jake"])

    async def owner() -> str | None:
        response = await chat.get(f"/api/chats/{soups['id']}", headers=users["bob"])
        found = (await response.json())["chat"]["owner"]
        return found["username"] if found and found["username"] != "jake" else None

    assert await until(owner) == "anna"


async def test_an_account_chat_never_heard_of_is_fetched_on_first_use_and_joins_general(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    jake = users.ids["jake"]
    # Let the registration event land first, so that it cannot undo what follows.
    assert await until(lambda: known_to_chat(db, jake))
    await forget(db, jake)
    response = await chat.get("/api/chats", headers=users["jake"])
    assert response.status == 200
    body = await response.json()
    assert [c["type"] for c in body["chats"]] == ["general"]
    row = await known_to_chat(db, jake)
    assert row is not None
    assert row["username"] == "jake"


# A pool starved by its own requests hangs for good: fail in seconds instead.
@pytest.mark.timeout(15)
async def test_many_first_requests_at_once_make_one_user_and_one_membership(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    jake = users.ids["jake"]
    assert await until(lambda: known_to_chat(db, jake))
    await forget(db, jake)
    # A client that comes back opens its lists in parallel: each request finds no user.
    responses = await asyncio.gather(
        *(chat.get("/api/chats", headers=users["jake"]) for _ in range(10))
    )
    assert [r.status for r in responses] == [200] * 10
    assert await db.fetchval("SELECT count(*) FROM chat.users WHERE id = $1", jake) == 1
    assert await db.fetchval("SELECT count(*) FROM chat.chat_members WHERE user_id = $1", jake) == 1


async def test_a_person_found_by_name_before_their_event_arrives_is_fetched_from_auth(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    anna = users.ids["anna"]
    assert await until(lambda: known_to_chat(db, anna))
    await forget(db, anna)
    response = await chat.post(
        "/api/chats", json={"chat": {"type": "direct", "username": "anna"}}, headers=users["jake"]
    )
    assert response.status == 201
    response = await chat.get("/api/chats", headers=users["anna"])
    assert sorted(c["type"] for c in (await response.json())["chats"]) == ["direct", "general"]


async def test_one_user_stored_from_two_places_at_once_is_stored_once(
    chat: AppClient, infra: Infra, db: asyncpg.Connection
) -> None:
    # auth's event and a first use of the same account write the same row at the same moment.
    settings = {"search_path": "chat"}
    first = await asyncpg.connect(infra.database_url, server_settings=settings)
    second = await asyncpg.connect(infra.database_url, server_settings=settings)
    try:
        for user_id in range(1, 201):

            async def store(connection: asyncpg.Connection, user_id: int = user_id) -> None:
                async with connection.transaction():
                    await q_users.upsert_user(connection, user_id, f"cook{user_id}", None)

            await asyncio.gather(store(first), store(second))
    finally:
        await first.close()
        await second.close()
    assert await db.fetchval("SELECT count(*) FROM chat.users") == 200


async def invited(db: asyncpg.Connection, user_id: int) -> bool:
    count: int = await db.fetchval(
        "SELECT count(*) FROM chat.notifications WHERE recipient_id = $1 AND type = 'chat.invited'",
        user_id,
    )
    return count > 0


@pytest.fixture
async def watched_auth(
    auth_client: AppClient, db: asyncpg.Connection
) -> AsyncIterator[tuple[AppClient, list[int]]]:
    """auth behind a proxy that counts, at each call it passes on, chat's transactions left
    open meanwhile (in this test's database: the stack's chat replicas, in a database of
    their own, keep working meanwhile)."""
    open_transactions: list[int] = []

    async def forward(request: web.Request) -> web.Response:
        open_transactions.append(
            await db.fetchval(
                """SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chat'
                     AND datname = current_database() AND state LIKE 'idle in transaction%'"""
            )
        )
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, f"{base_url(auth_client)}{request.path_qs}", headers=headers
            ) as answer,
        ):
            return web.Response(
                status=answer.status, body=await answer.read(), content_type=answer.content_type
            )

    proxy = web.Application()
    proxy.router.add_route("*", "/{path:.*}", forward)
    async with serving(proxy) as client:
        yield client, open_transactions


async def test_auth_is_asked_about_unknown_people_with_no_transaction_open(
    infra: Infra,
    users: Users,
    db: asyncpg.Connection,
    watched_auth: tuple[AppClient, list[int]],
) -> None:
    proxy, open_transactions = watched_auth
    async with serving(chat_app(infra, proxy)) as chat:
        await users.add("jake", "anna")
        jake, anna = users.ids["jake"], users.ids["anna"]
        assert await until(lambda: known_to_chat(db, jake))
        assert await until(lambda: known_to_chat(db, anna))
        general = await db.fetchval("SELECT id FROM chat.chats WHERE kind = 'general'")
        soups = await group(chat, users["anna"])
        await forget(db, jake)
        # An unknown person named (auth asked by name), then an unknown sender (by id).
        added = await chat.post(
            f"/api/chats/{soups['id']}/members", json={"username": "jake"}, headers=users["anna"]
        )
        assert added.status == 201, await added.text()
        # The addition's notification is made in a transaction of chat's consumer: once it
        # is stored, no transaction but the request's own can be open at the next call.
        assert await until(lambda: invited(db, jake))
        await forget(db, jake)
        await send(chat, users["jake"], general, "first words")
    assert open_transactions == [0, 0]
