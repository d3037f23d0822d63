"""Chat through the gateway, against every service as a process: REST, websocket, docs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.e2e.test_realworld import call, signup


async def next_of(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            frame = await ws.receive()
            assert frame.type is aiohttp.WSMsgType.TEXT, frame
            event = json.loads(frame.data)
            if event["type"] == kind:
                return event  # type: ignore[no-any-return]


async def general_of(api: aiohttp.ClientSession, token: str) -> int:
    status, body = await call(api, "GET", "/api/chats", token)
    assert status == 200, body
    return next(int(c["id"]) for c in body["chats"] if c["type"] == "general")


async def test_a_message_reaches_another_user_live_through_the_gateway(
    api: aiohttp.ClientSession,
) -> None:
    jake = await signup(api, "jake")
    anna = await signup(api, "anna")
    general = await general_of(api, jake)

    async with api.ws_connect(f"/api/chat/ws?token={anna}") as ws:
        hello = await next_of(ws, "hello")
        status, sent = await call(
            api, "POST", f"/api/chats/{general}/messages", jake, json={"message": {"body": "hi"}}
        )
        created = await next_of(ws, "message.created")

    assert {c["chatId"] for c in hello["data"]["chats"]} >= {general}
    assert status == 201
    assert created["data"] == sent["message"]


async def test_the_websocket_needs_a_valid_token(api: aiohttp.ClientSession) -> None:
    for query in ("", "?token=not-a-token"):
        try:
            async with api.ws_connect(f"/api/chat/ws{query}"):
                raise AssertionError("the gateway let a websocket in without a valid token")
        except aiohttp.WSServerHandshakeError as refused:
            assert refused.status == 401


async def test_the_chat_routes_are_in_the_merged_openapi_document(
    api: aiohttp.ClientSession,
) -> None:
    status, document = await call(api, "GET", "/api/openapi.json")
    assert status == 200
    paths = document["paths"]
    for path in (
        "/api/chats",
        "/api/chats/{chat_id}",
        "/api/chats/{chat_id}/messages",
        "/api/chats/{chat_id}/read",
        "/api/chats/unread",
        "/api/chats/join/{code}",
        "/api/chats/{chat_id}/join-requests/{request_id}/approve",
    ):
        assert path in paths, path
    assert "post" in paths["/api/chats/{chat_id}/messages"]
