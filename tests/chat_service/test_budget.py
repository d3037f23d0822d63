"""The general chat's send budget is exact: every message, comment and edit takes a place in
the period in which it is delivered, scheduled ones from when they are scheduled."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from chat_service.budget import SendBudget
from tests.chat_service.conftest import general_id, send
from tests.chat_service.helpers import Replicas
from tests.services import Users
from tests.typing import AppClient
from tests.waiting import until

# Periods long enough that no test crosses one by accident (each waits to be clear of an end).
PERIOD = 100_000


async def _clear_of_period_end() -> None:
    await until(lambda: time.time() % PERIOD < PERIOD - 120, timeout=130)


def _moment(offset: float) -> str:
    return datetime.fromtimestamp(time.time() + offset, UTC).isoformat()


async def _post(
    client: AppClient, headers: dict[str, str], chat_id: int, body: str, send_at: str | None = None
) -> Any:
    message: dict[str, Any] = {"body": body}
    if send_at is not None:
        message["sendAt"] = send_at
    return await client.post(
        f"/api/chats/{chat_id}/messages", json={"message": message}, headers=headers
    )


async def _budget(client: AppClient, headers: dict[str, str]) -> dict[str, Any]:
    body = await (await client.get("/api/chat/status", headers=headers)).json()
    return body["status"]["sendBudget"]  # type: ignore[no-any-return]


async def test_scheduled_messages_reserve_the_place_of_the_period_they_are_delivered_in(
    replicas: Replicas, users: Users
) -> None:
    # The attack of issue 23: a full period's worth scheduled for one moment of the next
    # period, as many more for the same moment a period later, and as many sent live. Each
    # period delivers at most the limit.
    a, b = await replicas(
        2, CHAT_SEND_LIMIT="3", CHAT_SEND_PERIOD=str(PERIOD), CHAT_SCHEDULE_MAX_AHEAD="400000"
    )
    await users.add("jake")
    general = await general_id(a, users["jake"])
    await _clear_of_period_end()
    next_period = _moment(PERIOD)

    scheduled = [
        await _post((a, b)[n % 2], users["jake"], general, f"s{n}", next_period) for n in range(3)
    ]
    fourth = await _post(b, users["jake"], general, "one too many", next_period)
    live = [await _post((a, b)[n % 2], users["jake"], general, f"live {n}") for n in range(3)]
    live_fourth = await _post(a, users["jake"], general, "over")

    assert [r.status for r in scheduled] == [201, 201, 201]
    assert fourth.status == 429
    # The reset named is that of the full period, the next one.
    assert PERIOD < int(fourth.headers["Retry-After"]) <= 2 * PERIOD
    assert [r.status for r in live] == [201, 201, 201]
    assert live_fourth.status == 429
    assert int(live_fourth.headers["Retry-After"]) <= PERIOD
    budget = await _budget(a, users["jake"])
    assert budget["remaining"] == 0
    assert budget["reserved"] == 0
    assert [r["reserved"] for r in budget["reservations"]] == [3]


async def test_cancelling_a_scheduled_message_gives_its_place_back(
    replicas: Replicas, users: Users
) -> None:
    (chat,) = await replicas(1, CHAT_SEND_LIMIT="2", CHAT_SEND_PERIOD=str(PERIOD))
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    await _clear_of_period_end()
    soon = _moment(60)
    first = await (await _post(chat, users["jake"], general, "a", soon)).json()
    await _post(chat, users["jake"], general, "b", soon)
    full = await _post(chat, users["jake"], general, "c", soon)
    reserved = await _budget(chat, users["jake"])

    cancelled = await chat.delete(
        f"/api/chats/{general}/messages/scheduled/{first['message']['id']}", headers=users["jake"]
    )
    again = await _post(chat, users["jake"], general, "c", soon)

    assert full.status == 429
    assert (reserved["remaining"], reserved["reserved"]) == (0, 2)
    assert cancelled.status == 204
    assert again.status == 201


async def test_comments_and_edits_in_the_general_chat_take_from_the_budget(
    replicas: Replicas, users: Users
) -> None:
    (chat,) = await replicas(1, CHAT_SEND_LIMIT="3", CHAT_SEND_PERIOD=str(PERIOD))
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    await _clear_of_period_end()
    message = await send(chat, users["jake"], general, "hello")
    path = f"/api/chats/{general}/messages/{message['id']}"
    comment = await chat.post(
        path + "/comments", json={"comment": {"body": "one"}}, headers=users["jake"]
    )
    edit = await chat.patch(path, json={"message": {"body": "hello!"}}, headers=users["jake"])

    over_comment = await chat.post(
        path + "/comments", json={"comment": {"body": "two"}}, headers=users["jake"]
    )
    over_edit = await chat.patch(path, json={"message": {"body": "hi"}}, headers=users["jake"])

    assert (comment.status, edit.status) == (201, 200)
    assert over_comment.status == 429
    assert over_edit.status == 429
    history = await (await chat.get(f"/api/chats/{general}/messages", headers=users["jake"])).json()
    assert history["messages"][-1]["body"] == "hello!"


async def test_the_budget_outlives_a_restart_of_redis(
    replicas: Replicas, users: Users, redis: aioredis.Redis
) -> None:
    (chat,) = await replicas(1, CHAT_SEND_LIMIT="1", CHAT_SEND_PERIOD=str(PERIOD))
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    await _clear_of_period_end()
    await send(chat, users["jake"], general, "my one message")

    await redis.flushall()  # what a restart of a Redis without persistence leaves
    refused = await _post(chat, users["jake"], general, "and another")

    assert refused.status == 429


async def test_a_postponed_message_moves_to_the_first_period_with_room(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    # A banned author's scheduled messages wait for the ban's end; they must not pile into
    # the period it ends in beyond the limit (a month of them would land at one moment).
    await users.add("jake")
    user_id = users.ids["jake"]
    budget = SendBudget(limit=1, period=PERIOD)
    await db.execute("SET search_path TO chat")
    ban_end = datetime.fromtimestamp((time.time() // PERIOD + 1) * PERIOD + 10, UTC)
    ends_in = budget.period_of(ban_end.timestamp())
    async with db.transaction():
        held = await budget.take(db, user_id, ban_end)  # the ban's period is full already
        other = await budget.take(db, user_id)  # the place the postponed message held
        moved, send_at = await budget.move(db, user_id, other, ban_end)

    assert held == ends_in
    assert moved == ends_in + 1
    assert send_at == datetime.fromtimestamp((ends_in + 1) * PERIOD, UTC)
    used = await db.fetch(
        "SELECT period, used FROM send_budget WHERE user_id = $1 ORDER BY period", user_id
    )
    assert [(row["period"], row["used"]) for row in used] == [
        (other, 0),
        (ends_in, 1),
        (ends_in + 1, 1),
    ]
