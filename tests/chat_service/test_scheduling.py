"""Timed work on real replicas: scheduled messages sent once when due, expired messages and their files removed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Connect, Replicas, attachment, history
from tests.infra import Infra
from tests.services import Users, serving
from tests.typing import AppClient
from tests.waiting import until


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_a_scheduled_message_is_sent_once_to_every_device_with_two_replicas(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna")
    general = await general_id(a, users["jake"])
    await send(a, users["anna"], general, "first")
    anna_a, anna_b = await sockets(a, users["anna"]), await sockets(b, users["anna"])

    scheduled = await send(a, users["jake"], general, "later", sendAt=later(1))
    listed = await a.get(f"/api/chats/{general}/messages/scheduled", headers=users["jake"])
    not_anna = await a.get(f"/api/chats/{general}/messages/scheduled", headers=users["anna"])
    before = await history(a, users["anna"], general)

    assert (scheduled["scheduled"], scheduled["seq"]) == (True, None)
    assert [m["id"] for m in (await listed.json())["messages"]] == [scheduled["id"]]
    assert (await not_anna.json())["messages"] == []
    assert [m["body"] for m in before] == ["first"]
    for device in (anna_a, anna_b):
        (sent,) = await device.messages(1, timeout=10)
        assert (sent["id"], sent["seq"], sent["body"]) == (scheduled["id"], 2, "later")
        assert sent["createdAt"] >= scheduled["sendAt"]
        assert [e for e in await device.quiet(1.0) if e["type"] == "message.created"] == []
    after = await a.get(f"/api/chats/{general}/messages/scheduled", headers=users["jake"])
    assert (await after.json())["messages"] == []


async def test_a_cancelled_message_is_never_sent_and_a_sent_one_cannot_be_cancelled(
    chat: AppClient, users: Users, sockets: Connect
) -> None:
    await users.add("jake", "anna")
    general = await general_id(chat, users["jake"])
    anna = await sockets(chat, users["anna"])
    cancelled = await send(chat, users["jake"], general, "never", sendAt=later(1))
    kept = await send(chat, users["jake"], general, "sent", sendAt=later(1))
    path = f"/api/chats/{general}/messages/scheduled"

    by_anna = await chat.delete(f"{path}/{cancelled['id']}", headers=users["anna"])
    first = await chat.delete(f"{path}/{cancelled['id']}", headers=users["jake"])
    again = await chat.delete(f"{path}/{cancelled['id']}", headers=users["jake"])
    (received,) = await anna.messages(1, timeout=10)
    once_sent = await chat.delete(f"{path}/{kept['id']}", headers=users["jake"])

    assert (by_anna.status, first.status, again.status) == (404, 204, 404)
    assert received["body"] == "sent"
    assert once_sent.status == 404
    assert [m["body"] for m in await history(chat, users["jake"], general)] == ["sent"]


async def test_what_fell_due_while_every_replica_was_stopped_is_sent_at_start(
    infra: Infra, replicas: Replicas, users: Users, auth_client: AppClient
) -> None:
    from tests.chat_service.conftest import chat_app

    await users.add("jake")
    async with serving(chat_app(infra, auth_client)) as first:
        general = await general_id(first, users["jake"])
        await send(first, users["jake"], general, "while nothing runs", sendAt=later(0.5))
    await asyncio.sleep(1.0)  # due while no replica runs

    (restarted,) = await replicas(1)

    async def sent() -> bool:
        return [m["body"] for m in await history(restarted, users["jake"], general)] == [
            "while nothing runs"
        ]

    await until(sent, timeout=10)


# Each bad `sendAt`, with why it is refused.
BAD_SEND_AT = [
    ("2020-01-01T00:00:00Z", "in the past"),
    ((datetime.now(UTC) + timedelta(days=400)).isoformat(), "beyond the limit"),
    ("tomorrow", "not a date"),
    ("2030-01-01T00:00:00", "without a time zone"),
]


async def test_a_send_at_in_the_past_or_too_far_ahead_is_refused(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    for send_at, why in BAD_SEND_AT:
        response = await chat.post(
            f"/api/chats/{general}/messages",
            json={"message": {"body": "x", "sendAt": send_at}},
            headers=users["jake"],
        )
        body = await response.json()
        assert response.status == 422, why
        assert "sendAt" in body["errors"], why


async def test_an_expired_message_leaves_history_unread_counts_and_storage(
    replicas: Replicas, users: Users, tmp_path: Path
) -> None:
    files = tmp_path / "attachments"
    (chat,) = await replicas(1, CHAT_ATTACHMENTS_DIR=str(files), CHAT_EXPIRY_INTERVAL="0.1")
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"], members=["anna"])
    changed = await chat.patch(
        f"/api/chats/{soups['id']}", json={"chat": {"messageTtlSeconds": 1}}, headers=users["jake"]
    )
    file = await attachment(chat, users["jake"], b"fleeting")
    message = await send(chat, users["jake"], soups["id"], "soon gone", attachmentId=file["id"])

    assert (await changed.json())["chat"]["messageTtlSeconds"] == 1
    assert message["expiresAt"] is not None
    assert (files / file["id"]).exists()

    async def gone() -> bool:
        return not (files / file["id"]).exists()

    await until(gone, timeout=10)
    chats = await (await chat.get("/api/chats", headers=users["anna"])).json()
    download = await chat.get(f"/api/chat/attachments/{file['id']}", headers=users["anna"])
    assert await history(chat, users["anna"], soups["id"]) == []
    assert next(c for c in chats["chats"] if c["id"] == soups["id"])["unreadCount"] == 0
    assert download.status == 404


async def test_general_messages_expire_an_hour_after_delivery_by_default(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    message = await send(chat, users["jake"], general, "ephemeral")
    created = datetime.fromisoformat(message["createdAt"])
    expires = datetime.fromisoformat(message["expiresAt"])
    assert expires - created == timedelta(hours=1)
