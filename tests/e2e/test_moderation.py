"""Trust and safety through the gateway, against two chat replicas: the role travels in the
token and cannot be claimed by a header, a ban reaches the user's socket at once, and the
send budget counts scheduled messages in the period they are delivered in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg

from tests.e2e.test_chat import general_of, next_of
from tests.e2e.test_realworld import call, signup
from tests.infra import Infra


async def as_role(api: aiohttp.ClientSession, infra: Infra, name: str, role: str) -> str:
    """Signs up, is given the role (as `make admin` does) and signs in again: the new token."""
    await signup(api, name)
    connection = await asyncpg.connect(infra.stack_database_url)
    try:
        await connection.execute("UPDATE auth.users SET role = $2 WHERE username = $1", name, role)
    finally:
        await connection.close()
    credentials = {"user": {"email": f"{name}@example.com", "password": "password1"}}
    status, body = await call(api, "POST", "/api/users/login", json=credentials)
    assert status == 200, body
    assert body["user"]["role"] == role
    return str(body["user"]["token"])


async def test_a_role_header_sent_by_a_client_is_not_believed(api: aiohttp.ClientSession) -> None:
    jake = await signup(api, "jake")
    headers = {"Authorization": f"Token {jake}", "X-User-Role": "admin"}
    async with api.get("/api/moderation/log", headers=headers) as response:
        assert response.status == 403


async def test_a_moderators_ban_reaches_the_users_socket_at_once(
    api: aiohttp.ClientSession, infra: Infra
) -> None:
    mod = await as_role(api, infra, "mod", "moderator")
    troll = await signup(api, "troll")
    general = await general_of(api, troll)

    async with api.ws_connect(f"/api/chat/ws?token={troll}") as ws:
        await next_of(ws, "hello")
        ban = {"ban": {"username": "troll", "seconds": 600, "reason": "spam"}}
        status, body = await call(api, "POST", "/api/moderation/bans", mod, json=ban)
        event = await next_of(ws, "moderation.banned")
    refused, _ = await call(
        api, "POST", f"/api/chats/{general}/messages", troll, json={"message": {"body": "x"}}
    )
    log_status, log = await call(api, "GET", "/api/moderation/log", mod)

    assert status == 201, body
    assert event["data"]["until"] == body["ban"]["until"]
    assert refused == 403
    assert log_status == 200
    assert [(e["action"], e["target"]) for e in log["entries"]] == [("ban", "user:troll")]


async def test_scheduled_messages_cannot_crowd_one_period(api: aiohttp.ClientSession) -> None:
    # The default budget (20 an hour): a full hour's worth scheduled for one moment of the
    # next hour, through both chat replicas, and the 21st for that moment is refused.
    jake = await signup(api, "jake")
    general = await general_of(api, jake)
    now = datetime.now(UTC)
    next_hour = (now.replace(minute=30, second=0, microsecond=0) + timedelta(hours=1)).isoformat()
    message = {"message": {"body": "later", "sendAt": next_hour}}
    statuses = [
        (await call(api, "POST", f"/api/chats/{general}/messages", jake, json=message))[0]
        for _ in range(21)
    ]
    assert statuses == [201] * 20 + [429]
    live, _ = await call(
        api, "POST", f"/api/chats/{general}/messages", jake, json={"message": {"body": "now"}}
    )
    assert live == 201  # this hour's budget is untouched
