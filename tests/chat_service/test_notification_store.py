"""Storing notifications in one statement (migration 011): each event once however often and
however concurrently it is handled, repeats folded, each with its live event, an actor chat
has not heard of asked of auth first."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from chat_service.keys import NOTIFICATIONS
from chat_service.queries import users as q_users
from shared.events import Event
from shared.events.consumer import MarksHandled
from shared.keys import PG_POOL
from tests.typing import AppClient

ANNA, JAKE = 9_001, 9_002


def _like(liker: int, author: int, article: int = 7) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        type="like.added",
        occurred_at=datetime.now(UTC).isoformat(),
        producer="social",
        version=1,
        data={
            "userId": liker,
            "articleId": article,
            "authorId": author,
            "slug": "pea-soup",
            "title": "Pea soup",
        },
    )


async def _people(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await q_users.upsert_user(connection, ANNA, "anna", None)
        await q_users.upsert_user(connection, JAKE, "jake", None)


async def _handle_at_once(chat: AppClient, events: list[Event]) -> list[Any]:
    """Each event handled on a connection of its own, all at once (as replicas would)."""
    handler = chat.app[NOTIFICATIONS].handlers()["like.added"]
    assert isinstance(handler, MarksHandled)
    pool = chat.app[PG_POOL]

    async def handle(event: Event) -> Any:
        async with pool.acquire() as connection:
            return await handler.run(connection, event)

    return await asyncio.gather(*(handle(event) for event in events))


async def _stored(pool: asyncpg.Pool) -> list[tuple[int, str]]:
    rows = await pool.fetch("SELECT recipient_id, type FROM notifications ORDER BY id")
    return [(row["recipient_id"], row["type"]) for row in rows]


async def _live(pool: asyncpg.Pool) -> list[tuple[int, dict[str, Any]]]:
    """The user events in chat's live log: recipient, and the event sent to their sockets."""
    rows = await pool.fetch("SELECT target, payload FROM live_events WHERE scope = 'u' ORDER BY id")
    return [(row["target"], json.loads(row["payload"].partition("\n")[2])) for row in rows]


async def test_one_event_handled_four_times_at_once_is_one_notification_with_one_live_event(
    chat: AppClient,
) -> None:
    pool = chat.app[PG_POOL]
    await _people(pool)
    like = _like(ANNA, JAKE)

    published = await _handle_at_once(chat, [like] * 4)

    assert sum(after is not None for after in published) == 1  # one publishes
    assert await _stored(pool) == [(JAKE, "favorited")]
    ((recipient, event),) = await _live(pool)
    assert recipient == JAKE
    assert event["type"] == "notification.created"
    assert event["data"]["actor"] == {"username": "anna", "image": None}
    assert event["data"]["article"] == {"slug": "pea-soup", "title": "Pea soup"}
    assert await pool.fetchval("SELECT count(*) FROM notification_events") == 1


async def test_two_likes_of_one_recipe_by_one_person_at_once_fold_into_one(
    chat: AppClient,
) -> None:
    pool = chat.app[PG_POOL]
    await _people(pool)

    await _handle_at_once(chat, [_like(ANNA, JAKE), _like(ANNA, JAKE)])
    await _handle_at_once(chat, [_like(ANNA, JAKE, article=8)])  # another recipe: its own

    assert await _stored(pool) == [(JAKE, "favorited"), (JAKE, "favorited")]
    assert [event["data"]["article"] for _, event in await _live(pool)] == [
        {"slug": "pea-soup", "title": "Pea soup"}
    ] * 2
    assert await pool.fetchval("SELECT count(*) FROM notification_events") == 3


async def test_nothing_is_stored_or_recorded_for_ones_own_like(chat: AppClient) -> None:
    pool = chat.app[PG_POOL]
    await _people(pool)

    assert await _handle_at_once(chat, [_like(JAKE, JAKE)]) == [None]

    assert await _stored(pool) == []
    assert await _live(pool) == []


async def test_an_actor_unknown_to_chat_and_to_auth_is_shown_as_nobody(chat: AppClient) -> None:
    pool = chat.app[PG_POOL]
    await _people(pool)
    stranger = 9_999  # no account: auth answers 404 when chat asks for it

    await _handle_at_once(chat, [_like(stranger, JAKE)])

    assert await _stored(pool) == [(JAKE, "favorited")]
    ((_, event),) = await _live(pool)
    assert event["data"]["actor"] is None
