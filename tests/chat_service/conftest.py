"""chat_service replicas from their factory on real sockets, with auth_service beside them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from chat_service.app import create_app
from chat_service.settings import ChatSettings
from shared.settings import Env
from tests.infra import Infra
from tests.services import FAST_EVENTS, Users, base_url, serving
from tests.typing import AppClient
from tests.vouching import VOUCHED

# Gaps are looked for often in tests, so that a lost publish shows up within a second; the
# general chat's send limit is off except where a test sets it.
FAST_CHAT = {
    "CHAT_GAP_WAIT": "0.2",
    "CHAT_GAP_CHECK_INTERVAL": "0.3",
    "CHAT_TYPING_INTERVAL": "0",
    "CHAT_SEND_LIMIT": "0",
}


def chat_settings(infra: Infra, auth: AppClient, **extra: str) -> ChatSettings:
    env = infra.env(AUTH_URL=base_url(auth), **{**FAST_CHAT, **extra})
    return ChatSettings.from_env(Env(env))


def chat_app(infra: Infra, auth: AppClient, **extra: str) -> web.Application:
    return create_app(chat_settings(infra, auth, **extra), **FAST_EVENTS)


@pytest.fixture
async def replicas(
    infra: Infra, auth_client: AppClient
) -> AsyncIterator[Callable[..., Awaitable[list[AppClient]]]]:
    """Starts n chat replicas on one database and one Redis: `await replicas(2)`."""
    async with AsyncExitStack() as stack:

        async def start(count: int = 1, **extra: str) -> list[AppClient]:
            return [
                await stack.enter_async_context(serving(chat_app(infra, auth_client, **extra)))
                for _ in range(count)
            ]

        yield start


@pytest.fixture
async def chat(replicas: Callable[..., Awaitable[list[AppClient]]]) -> AppClient:
    (client,) = await replicas(1)
    return client


class Socket:
    """A device's websocket straight to a replica, with the headers the gateway would send."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.hello: dict[str, Any] = {}

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        message = await self.ws.receive(timeout=timeout)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        return json.loads(message.data)  # type: ignore[no-any-return]

    async def until(self, kind: str, timeout: float = 5.0, **data: Any) -> dict[str, Any]:
        """The next event of a type (and with these data fields), skipping others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = await self.next(max(0.01, deadline - loop.time()))
            if event["type"] == kind and all(event["data"].get(k) == v for k, v in data.items()):
                return event

    async def messages(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The next `count` message.created payloads, skipping other events."""
        return [(await self.until("message.created", timeout))["data"] for _ in range(count)]

    async def quiet(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Whatever arrives within `seconds`, to check that nothing more came."""
        seen = []
        try:
            while True:
                seen.append(await self.next(seconds))
        except TimeoutError:
            return seen

    async def send(self, data: Any) -> None:
        await self.ws.send_str(data if isinstance(data, str) else json.dumps(data))


@pytest.fixture
async def sockets() -> AsyncIterator[Callable[..., Awaitable[Socket]]]:
    async with aiohttp.ClientSession(middlewares=VOUCHED) as session:
        opened: list[Socket] = []

        async def connect(replica: AppClient, headers: dict[str, str]) -> Socket:
            identity = {k: v for k, v in headers.items() if k.startswith("X-")}
            ws = await session.ws_connect(f"{base_url(replica)}/api/chat/ws", headers=identity)
            socket = Socket(ws)
            hello = await socket.next()
            assert hello["type"] == "hello", hello
            socket.hello = hello["data"]
            opened.append(socket)
            return socket

        try:
            yield connect
        finally:
            for socket in opened:
                await socket.ws.close()


async def general_id(client: AppClient, headers: dict[str, str]) -> int:
    response = await client.get("/api/chats", headers=headers)
    assert response.status == 200, await response.text()
    chats = (await response.json())["chats"]
    return int(next(c["id"] for c in chats if c["type"] == "general"))


async def send(
    client: AppClient, headers: dict[str, str], chat_id: int, body: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/chats/{chat_id}/messages", json={"message": {"body": body, **extra}}, headers=headers
    )
    assert response.status == 201, await response.text()
    return (await response.json())["message"]  # type: ignore[no-any-return]


async def group(
    client: AppClient,
    headers: dict[str, str],
    title: str = "Soups",
    private: bool = False,
    members: Sequence[str] = (),
) -> dict[str, Any]:
    """A group chat owned by the caller, with these members added."""
    response = await client.post(
        "/api/chats",
        json={"chat": {"type": "group", "title": title, "private": private}},
        headers=headers,
    )
    assert response.status == 201, await response.text()
    chat: dict[str, Any] = (await response.json())["chat"]
    for username in members:
        added = await client.post(
            f"/api/chats/{chat['id']}/members", json={"username": username}, headers=headers
        )
        assert added.status == 201, await added.text()
    return chat


__all__ = ["Socket", "Users", "general_id", "group", "send"]
