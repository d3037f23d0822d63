"""The rules of chat on real replicas: scheduled messages, expiry, the send limit, reports and
bans, files, comments, and the status of a user."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from chat_service.settings import ChatSettings
from shared.settings import Env
from tests.chat_service.conftest import Socket, general_id, group, send
from tests.infra import Infra
from tests.services import Users, serving
from tests.typing import AppClient
from tests.waiting import until

Replicas = Callable[..., Awaitable[list[AppClient]]]
Connect = Callable[..., Awaitable[Socket]]


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def history(client: AppClient, headers: dict[str, str], chat_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/chats/{chat_id}/messages", headers=headers)
    assert response.status == 200, await response.text()
    return (await response.json())["messages"]  # type: ignore[no-any-return]


async def upload(
    client: AppClient,
    headers: dict[str, str],
    data: bytes,
    name: str = "notes.txt",
    kind: str = "text/plain",
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    # A stream, as a client sends a large file (aiohttp warns about large bytes bodies).
    form.add_field("file", io.BytesIO(data), filename=name, content_type=kind)
    return await client.post("/api/chat/attachments", data=form, headers=headers)


async def attachment(
    client: AppClient, headers: dict[str, str], data: bytes, **kwargs: str
) -> dict[str, Any]:
    response = await upload(client, headers, data, **kwargs)
    assert response.status == 201, await response.text()
    return (await response.json())["attachment"]  # type: ignore[no-any-return]


def test_the_rules_default_to_the_numbers_of_the_readme() -> None:
    settings = ChatSettings.from_env(Env({}))
    assert (settings.send_limit, settings.send_period) == (20, 3600)
    assert (settings.ban_reports, settings.ban_seconds) == (3, 4 * 3600)
    assert settings.max_attachment_bytes == 5 * 1024 * 1024
    assert settings.general_ttl == 3600


# Scheduled messages.


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


# Expiry.


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


# The send limit.


async def test_the_21st_message_of_a_period_is_429_until_the_period_ends(
    replicas: Replicas, users: Users
) -> None:
    # The default budget of 20, in periods shortened to 4 s so that the test sees one end.
    a, b = await replicas(2, CHAT_SEND_LIMIT="20", CHAT_SEND_PERIOD="4")
    await users.add("jake")
    general = await general_id(a, users["jake"])
    await until(lambda: time.time() % 4 < 0.5, timeout=6)  # a period's start: 21 sends fit

    for number in range(20):
        await send((a, b)[number % 2], users["jake"], general, f"in budget {number}")
    refused = await b.post(
        f"/api/chats/{general}/messages", json={"message": {"body": "over"}}, headers=users["jake"]
    )
    status = await (await a.get("/api/chat/status", headers=users["jake"])).json()

    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 4
    assert status["status"]["sendBudget"]["remaining"] == 0
    await asyncio.sleep(int(refused.headers["Retry-After"]))
    await send(a, users["jake"], general, "a new period")


async def test_the_limit_counts_only_the_general_chat(replicas: Replicas, users: Users) -> None:
    (chat,) = await replicas(1, CHAT_SEND_LIMIT="1")
    await users.add("jake")
    soups = await group(chat, users["jake"])
    for number in range(3):
        await send(chat, users["jake"], soups["id"], f"no limit here {number}")


# Reports and bans.


async def test_the_third_report_bans_from_sending_and_the_ban_ends_by_itself(
    replicas: Replicas, users: Users
) -> None:
    (chat,) = await replicas(1, CHAT_BAN_SECONDS="2")
    await users.add("troll", "anna", "ben", "cleo")
    general = await general_id(chat, users["troll"])
    for name in ("anna", "ben"):
        response = await chat.post(
            "/api/users/troll/report", json={"reason": "spam"}, headers=users[name]
        )
        assert response.status == 201, await response.text()
    await send(chat, users["troll"], general, "still allowed")
    third = await chat.post(
        "/api/users/troll/report", json={"reason": "spam"}, headers=users["cleo"]
    )

    banned = await chat.post(
        f"/api/chats/{general}/messages", json={"message": {"body": "x"}}, headers=users["troll"]
    )
    status = await (await chat.get("/api/chat/status", headers=users["troll"])).json()
    assert third.status == 201
    assert banned.status == 403
    ends = status["status"]["bans"][0]["endsAt"]
    assert ends in (await banned.json())["errors"]["body"][0]
    await asyncio.sleep(2.1)
    await send(chat, users["troll"], general, "free again")


async def test_reporting_twice_yourself_or_nobody_is_refused(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    first = await chat.post(
        "/api/users/anna/report", json={"reason": "rude"}, headers=users["jake"]
    )
    twice = await chat.post(
        "/api/users/anna/report", json={"reason": "rude"}, headers=users["jake"]
    )
    myself = await chat.post("/api/users/jake/report", json={"reason": "x"}, headers=users["jake"])
    nobody = await chat.post(
        "/api/users/nobody/report", json={"reason": "x"}, headers=users["jake"]
    )
    empty = await chat.post("/api/users/anna/report", json={"reason": ""}, headers=users["jake"])
    assert (first.status, twice.status, myself.status, nobody.status) == (201, 409, 422, 404)
    assert empty.status == 422


# Files.


async def test_an_upload_over_the_limit_is_413_and_leaves_no_file(
    replicas: Replicas, users: Users, tmp_path: Path
) -> None:
    files = tmp_path / "attachments"
    (chat,) = await replicas(1, CHAT_ATTACHMENTS_DIR=str(files))
    await users.add("jake")
    limit = 5 * 1024 * 1024

    too_big = await upload(chat, users["jake"], b"\0" * (limit + 1), name="big.bin")
    exact = await upload(chat, users["jake"], b"\0" * limit, name="fits.bin")

    assert too_big.status == 413
    assert (await too_big.json())["errors"]["body"]
    assert exact.status == 201
    stored = [p for p in files.rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [(await exact.json())["attachment"]["id"]]


async def test_a_file_is_downloaded_by_members_only_as_an_attachment(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna", "eve")
    soups = await group(chat, users["jake"], private=True, members=["anna"])
    page = b"<script>alert(1)</script>"
    file = await attachment(chat, users["jake"], page, name='ré"sumé.html', kind="text/html")
    message = await send(chat, users["jake"], soups["id"], "", attachmentId=file["id"])

    by_anna = await chat.get(f"/api/chat/attachments/{file['id']}", headers=users["anna"])
    by_eve = await chat.get(f"/api/chat/attachments/{file['id']}", headers=users["eve"])
    unknown = await chat.get("/api/chat/attachments/0123abcd", headers=users["anna"])

    assert message["attachment"] == file
    assert file["filename"] == "ré_sumé.html"
    assert by_anna.status == 200
    assert await by_anna.read() == page
    assert by_anna.headers["Content-Type"].startswith("application/octet-stream")
    assert by_anna.headers["X-Content-Type-Options"] == "nosniff"
    disposition = by_anna.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="r_')
    assert "filename*=UTF-8''r%C3%A9_sum%C3%A9.html" in disposition
    assert (by_eve.status, unknown.status) == (404, 404)


async def test_only_the_uploader_can_attach_a_file(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    general = await general_id(chat, users["jake"])
    file = await attachment(chat, users["jake"], b"mine")
    response = await chat.post(
        f"/api/chats/{general}/messages",
        json={"message": {"body": "look", "attachmentId": file["id"]}},
        headers=users["anna"],
    )
    assert response.status == 422
    assert "attachmentId" in (await response.json())["errors"]


async def test_a_file_never_attached_is_removed_after_a_while(
    replicas: Replicas, users: Users, tmp_path: Path
) -> None:
    files = tmp_path / "attachments"
    (chat,) = await replicas(1, CHAT_ATTACHMENTS_DIR=str(files), CHAT_ATTACHMENT_ORPHAN_TTL="1")
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    orphan = await attachment(chat, users["jake"], b"forgotten")
    kept = await attachment(chat, users["jake"], b"posted")
    await send(chat, users["jake"], general, "with a file", attachmentId=kept["id"])

    await until(lambda: not (files / orphan["id"]).exists(), timeout=10)
    assert (files / kept["id"]).exists()


# Comments on messages.


async def test_a_comment_joins_the_thread_counts_and_reaches_the_members(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna", "eve")
    general = await general_id(a, users["jake"])
    soups = await group(a, users["jake"], members=["anna"])
    message = await send(a, users["jake"], soups["id"], "what goes in a minestrone?")
    jake = await sockets(b, users["jake"])
    path = f"/api/chats/{soups['id']}/messages/{message['id']}/comments"

    added = await a.post(path, json={"comment": {"body": "beans"}}, headers=users["anna"])
    event = await jake.until("comment.created")
    thread = await (await b.get(path, headers=users["jake"])).json()
    by_eve = await a.post(path, json={"comment": {"body": "hi"}}, headers=users["eve"])
    elsewhere = await a.get(
        f"/api/chats/{general}/messages/{message['id']}/comments", headers=users["jake"]
    )
    (shown,) = await history(a, users["jake"], soups["id"])

    comment = (await added.json())["comment"]
    assert added.status == 201
    assert comment["messageId"] == message["id"]
    assert comment["author"]["username"] == "anna"
    assert event["data"]["chatId"] == soups["id"]
    assert event["data"]["seq"] == message["seq"]
    assert event["data"]["comment"] == comment
    assert thread["comments"] == [comment]
    assert shown["commentsCount"] == 1
    assert (by_eve.status, elsewhere.status) == (404, 404)


# Status.


async def test_the_status_shows_bans_budget_devices_and_unread(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2, CHAT_SEND_LIMIT="20")
    await users.add("jake", "anna")
    general = await general_id(a, users["jake"])
    await sockets(a, users["jake"])
    await sockets(b, users["jake"])
    await send(a, users["jake"], general, "mine")
    await send(a, users["anna"], general, "for jake")

    response = await b.get("/api/chat/status", headers=users["jake"])
    status = (await response.json())["status"]

    assert response.status == 200
    assert status["bans"] == []
    assert status["sendBudget"]["limit"] == 20
    assert status["sendBudget"]["remaining"] == 19
    assert status["devices"] == 2
    assert {"chatId": general, "title": "General", "unreadCount": 1} in status["chats"]
