"""A ban stops every write to chats, with one answer naming its end; reading goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Connect, Replicas
from tests.services import Users


async def ban(db: asyncpg.Connection, users: Users, name: str, seconds: int = 3600) -> None:
    """Bans the user as the report rule does."""
    await db.execute(
        "INSERT INTO chat.bans (user_id, reason, ends_at) VALUES ($1, 'test', $2)",
        users.ids[name],
        datetime.now(UTC) + timedelta(seconds=seconds),
    )


async def test_a_ban_refuses_every_write_with_the_same_error(
    replicas: Replicas, users: Users, db: asyncpg.Connection
) -> None:
    # What a banned user still did in issue 23, spread over two replicas.
    a, b = await replicas(2)
    await users.add("troll", "anna", "ben")
    general = await general_id(a, users["troll"])
    own = await group(a, users["troll"], "Mine")
    anna_group = await group(a, users["anna"], "Secret", private=True)
    invite = await a.post(
        f"/api/chats/{anna_group['id']}/invites", json={"invite": {}}, headers=users["anna"]
    )
    code = (await invite.json())["invite"]["code"]
    message = await send(a, users["troll"], own["id"], "before the ban")
    in_general = await send(a, users["troll"], general, "before the ban")
    await ban(db, users, "troll")

    attempts: list[tuple[str, str, Any]] = [
        ("POST", f"/api/chats/{general}/messages", {"message": {"body": "x"}}),
        ("PATCH", f"/api/chats/{own['id']}/messages/{message['id']}", {"message": {"body": "y"}}),
        (
            "PATCH",
            f"/api/chats/{general}/messages/{in_general['id']}",
            {"message": {"body": "y"}},
        ),
        (
            "POST",
            f"/api/chats/{own['id']}/messages/{message['id']}/comments",
            {"comment": {"body": "z"}},
        ),
        ("POST", "/api/chats", {"chat": {"type": "group", "title": "Spam"}}),
        ("POST", "/api/chats", {"chat": {"type": "direct", "username": "ben"}}),
        ("PATCH", f"/api/chats/{own['id']}", {"chat": {"title": "Renamed"}}),
        ("POST", f"/api/chats/{own['id']}/members", {"username": "ben"}),
        ("POST", f"/api/chats/{own['id']}/invites", {"invite": {}}),
        ("POST", f"/api/chats/join/{code}", None),
    ]
    answers = []
    for number, (method, path, body) in enumerate(attempts):
        response = await (a, b)[number % 2].request(method, path, json=body, headers=users["troll"])
        answers.append((path, response.status, await response.json()))

    assert [(path, status) for path, status, _ in answers] == [
        (path, 403) for path, _, _ in answers
    ]
    errors = {body["errors"]["body"][0] for _, _, body in answers}
    assert len(errors) == 1
    status = await (await b.get("/api/chat/status", headers=users["troll"])).json()
    assert status["status"]["bans"][0]["endsAt"] in errors.pop()
    members = await (await a.get(f"/api/chats/{own['id']}", headers=users["troll"])).json()
    assert [m["username"] for m in members["chat"]["members"]] == ["troll"]


async def test_a_banned_users_typing_reaches_nobody(
    replicas: Replicas, users: Users, sockets: Connect, db: asyncpg.Connection
) -> None:
    a, b = await replicas(2)
    await users.add("troll", "anna")
    soups = await group(a, users["troll"], members=["anna"])
    anna = await sockets(b, users["anna"])
    troll = await sockets(a, users["troll"])
    await ban(db, users, "troll")

    await troll.send({"type": "typing", "chatId": soups["id"]})
    answer = await troll.until("error")

    assert "banned" in answer["data"]["message"]
    assert [e for e in await anna.quiet(1.0) if e["type"] == "typing"] == []


async def test_a_banned_user_still_reads(
    replicas: Replicas, users: Users, db: asyncpg.Connection
) -> None:
    (chat,) = await replicas(1)
    await users.add("troll", "anna")
    soups = await group(chat, users["anna"], members=["troll"])
    await send(chat, users["anna"], soups["id"], "hello")
    await ban(db, users, "troll")
    history = await chat.get(f"/api/chats/{soups['id']}/messages", headers=users["troll"])
    leave = await chat.delete(f"/api/chats/{soups['id']}/members/troll", headers=users["troll"])
    assert history.status == 200
    assert leave.status == 204
