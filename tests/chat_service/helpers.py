"""What several chat test files share."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from tests.chat_service.conftest import Socket, group, send
from tests.services import Users
from tests.typing import AppClient

Replicas = Callable[..., Awaitable[list[AppClient]]]


Connect = Callable[..., Awaitable[Socket]]


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


async def add(client: AppClient, owner: dict[str, str], chat_id: int, *names: str) -> None:
    for name in names:
        response = await client.post(
            f"/api/chats/{chat_id}/members", json={"username": name}, headers=owner
        )
        assert response.status == 201, await response.text()


async def status_of(
    client: AppClient,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> int:
    response = await client.request(method, path, json=body, headers=headers or {})
    return response.status


async def group_of(client: AppClient, users: Users, owner: str, *members: str) -> int:
    """A group chat of the owner's with these members; its id."""
    chat = await group(client, users[owner])
    for name in members:
        response = await client.post(
            f"/api/chats/{chat['id']}/members", json={"username": name}, headers=users[owner]
        )
        assert response.status == 201, await response.text()
    return chat["id"]  # type: ignore[no-any-return]


async def history(
    client: AppClient, headers: dict[str, str], chat_id: int, **query: int
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/chats/{chat_id}/messages",
        params={k: str(v) for k, v in query.items()},
        headers=headers,
    )
    assert response.status == 200, await response.text()
    return (await response.json())["messages"]  # type: ignore[no-any-return]


async def send_many(
    client: AppClient, headers: dict[str, str], chat_id: int, first: int, count: int
) -> list[dict[str, Any]]:
    return [await send(client, headers, chat_id, f"m{n}") for n in range(first, first + count)]


async def unread_count(client: AppClient, headers: dict[str, str], chat_id: int) -> int:
    response = await client.get("/api/chats", headers=headers)
    chats = (await response.json())["chats"]
    return next(c["unreadCount"] for c in chats if c["id"] == chat_id)  # type: ignore[no-any-return]


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [m["seq"] for m in messages]
