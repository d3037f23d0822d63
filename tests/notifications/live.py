"""What the notification tests share: sockets that collect notifications, the list read back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.e2e.test_realworld import call


async def notifications_of(
    api: aiohttp.ClientSession, token: str, query: str = ""
) -> dict[str, Any]:
    status, body = await call(api, "GET", f"/api/notifications{query}", token)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


async def listed(api: aiohttp.ClientSession, token: str, count: int) -> list[dict[str, Any]]:
    """The list once it holds `count` notifications (the consumer builds them a moment after
    the write), after a pause that would let a duplicate show."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        body = await notifications_of(api, token)
        if len(body["notifications"]) >= count:
            break
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    notifications: list[dict[str, Any]] = (await notifications_of(api, token))["notifications"]
    return notifications


async def received(
    ws: aiohttp.ClientWebSocketResponse, kind: str, count: int, quiet: float = 0.5
) -> list[dict[str, Any]]:
    """The next `count` events of `kind` on the socket, then every further one that comes
    within `quiet` seconds (none, when nothing is sent twice)."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while len(events) < count:
            events += _of_kind(await ws.receive(), kind)
    while True:
        try:
            frame = await ws.receive(timeout=quiet)
        except TimeoutError:
            return events
        events += _of_kind(frame, kind)


def _of_kind(frame: aiohttp.WSMessage, kind: str) -> list[dict[str, Any]]:
    assert frame.type is aiohttp.WSMsgType.TEXT, frame
    event = json.loads(frame.data)
    return [event["data"]] if event["type"] == kind else []


async def recipe(api: aiohttp.ClientSession, token: str, title: str = "Soup") -> str:
    article = {"article": {"title": title, "description": "warm", "body": "boil"}}
    status, body = await call(api, "POST", "/api/articles", token, json=article)
    assert status == 201, body
    return str(body["article"]["slug"])
