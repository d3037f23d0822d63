"""The rules on sending: the general chat's send limit, reports and the bans they lead to, and a user's standing."""

from __future__ import annotations

import asyncio
import time

from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Connect, Replicas
from tests.services import Users
from tests.typing import AppClient
from tests.waiting import until


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


async def test_the_third_report_bans_from_sending_and_the_ban_ends_by_itself(
    replicas: Replicas, users: Users
) -> None:
    # Accounts made a moment ago count here (the rules on reporters are in test_reports.py).
    (chat,) = await replicas(
        1,
        CHAT_BAN_SECONDS="2",
        CHAT_REPORTER_MIN_AGE="0",
        CHAT_REPORTER_REQUIRE_CONFIRMED="false",
    )
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
