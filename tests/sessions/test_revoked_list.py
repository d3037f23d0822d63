"""auth's list of ended sessions, as the gateways page through it, and its clean-up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from auth_service.sessions import Sessions
from auth_service.settings import AuthSettings
from shared.contracts.revocation import CHANNEL, Ended
from shared.data.redis import CircuitBreaker, create_redis
from shared.settings import Env
from tests.factories import as_user, claims, register
from tests.gateway.conftest import make_keys
from tests.infra import Infra
from tests.waiting import until


async def cursor_of(db: asyncpg.Connection, session_id: str) -> str:
    revoked_at = await db.fetchval(
        "SELECT revoked_at FROM auth.sessions WHERE id = $1", uuid.UUID(session_id)
    )
    micros = (revoked_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return f"{micros}.{session_id}"


async def test_the_list_pages_by_cursor_in_the_order_of_revocation(
    auth_client: TestClient[web.Request, web.Application], db: asyncpg.Connection
) -> None:
    await register(auth_client, "jake")
    ended = []
    for _ in range(3):
        login = await auth_client.post(
            "/api/users/login",
            json={"user": {"email": "jake@example.com", "password": "jakejake1"}},
        )
        user = (await login.json())["user"]
        assert (await auth_client.post("/api/auth/logout", headers=as_user(user))).status == 204
        ended.append(claims(user["token"]))

    everything = await (await auth_client.get("/internal/sessions/revoked")).json()
    assert [item["id"] for item in everything["sessions"]] == [c["sid"] for c in ended]
    # Listed until the session's end, which no token of it outlives.
    assert [int(item["expiresAt"]) for item in everything["sessions"]] == [c["exp"] for c in ended]
    assert everything["more"] is False

    first = everything["sessions"][0]["id"]
    assert everything["cursor"] == await cursor_of(db, ended[-1]["sid"])
    rest = await (
        await auth_client.get(
            "/internal/sessions/revoked", params={"after": await cursor_of(db, first)}
        )
    ).json()
    assert [item["id"] for item in rest["sessions"]] == [c["sid"] for c in ended[1:]]
    after_last = await (
        await auth_client.get("/internal/sessions/revoked", params={"after": everything["cursor"]})
    ).json()
    assert after_last == {"sessions": [], "cursor": None, "more": False}


async def test_a_malformed_cursor_is_422(
    auth_client: TestClient[web.Request, web.Application],
) -> None:
    response = await auth_client.get("/internal/sessions/revoked", params={"after": "yesterday"})
    assert response.status == 422
    assert "after" in (await response.json())["errors"]


async def test_ended_sessions_are_forgotten_an_hour_after_their_end(
    infra: Infra, db: asyncpg.Connection
) -> None:
    now = datetime.now(UTC)
    old, recent, live = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for session_id, end in (
        (old, now - timedelta(hours=2)),
        (recent, now),
        (live, now + timedelta(days=1)),
    ):
        await db.execute(
            "INSERT INTO auth.sessions (id, user_id, expires_at) VALUES ($1, 1, $2)",
            session_id,
            end,
        )
    pool = await asyncpg.create_pool(
        infra.database_url, min_size=1, max_size=1, server_settings={"search_path": "auth"}
    )
    try:
        assert await Sessions.forget_ended(pool, 100) == 1
    finally:
        await pool.close()
    left = {row["id"] for row in await db.fetch("SELECT id FROM auth.sessions")}
    assert left == {recent, live}


async def test_an_announcement_redis_refused_goes_out_once_redis_answers(
    infra: Infra,
) -> None:
    # Redis skipped for a moment (its breaker open after a failure): the ending still reaches
    # the gateways within moments, not only at their next read of the list.
    breaker = CircuitBreaker(open_for=0.5)
    redis = create_redis(infra.redis_url, breaker)
    listener = create_redis(infra.redis_url)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(CHANNEL)
    settings = AuthSettings.from_env(Env(infra.env()))
    sessions = Sessions(settings, redis, make_keys(infra))
    try:
        breaker.failed()
        await sessions.announce([Ended("gone-session", 2_000_000_000.0)])

        async def announced() -> str | None:
            message = await pubsub.get_message(timeout=0.1)
            return str(message["data"]) if message else None

        assert await until(announced, timeout=5) == "gone-session 2000000000"
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await listener.aclose()
        await redis.aclose()
