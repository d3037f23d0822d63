"""The websocket of a device: hello, live events, resume, typing, presence and heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import marshmallow
from aiohttp import WSMsgType, web
from aiohttp_apigami import docs

from chat_service import queries, render
from chat_service.domain import Chats
from chat_service.hub import Hub
from chat_service.keys import HUB, REALTIME
from chat_service.messages import Messages
from chat_service.presence import Presence
from chat_service.publishing import Publisher
from chat_service.schemas import ClientEventIn
from chat_service.settings import ChatSettings
from chat_service.sockets import Client, text_frame
from shared.transport.jsoncodec import loads
from shared.web.errors import flatten_messages
from shared.web.identity import require_user
from shared.web.schemas import TOKEN_AUTH

log = logging.getLogger(__name__)

_EVENT = ClientEventIn()


class Realtime:
    """What a socket needs besides the hub: the hello, presence and typing."""

    def __init__(
        self,
        settings: ChatSettings,
        chats: Chats,
        messages: Messages,
        publisher: Publisher,
        presence: Presence,
    ) -> None:
        self.settings = settings
        self.chats = chats
        self.messages = messages
        self.publisher = publisher
        self.presence = presence

    async def announce_presence(self, client: Client, online: bool) -> None:
        """Tells the user's direct and group chats; the general chat's thousands of members
        see presence where they look for it (the chat's member list)."""
        async with self.chats.pool.acquire() as connection:
            chat_ids = await queries.member_chat_ids(connection, client.user_id, general=False)
        for chat_id in chat_ids:
            data = {"chatId": chat_id, "username": client.username, "online": online}
            await self.publisher.chat_event(
                chat_id, render.event("presence", data), skip_user=client.user_id
            )


def _error(message: str, fields: dict[str, list[str]] | None = None) -> str:
    data: dict[str, Any] = {"message": message}
    if fields:
        data["fields"] = fields
    return render.event("error", data)


@docs(
    tags=["realtime"],
    summary="The websocket of live chat events (see API.md for the events)",
    security=TOKEN_AUTH,
    responses={101: {"description": "Switching to the websocket protocol"}},
)
async def chat_socket(request: web.Request) -> web.StreamResponse:
    """GET /api/chat/ws: the gateway has checked the token and vouches for the caller."""
    caller = require_user(request)  # refused (401) before the upgrade without an identity
    realtime = request.app[REALTIME]
    hub = request.app[HUB]
    settings = realtime.settings
    await realtime.chats.users.ensure(caller)
    # No compression: events go out as frames built once for every socket (sockets.py).
    ws = web.WebSocketResponse(
        heartbeat=settings.ws_heartbeat,
        max_msg_size=settings.ws_max_message_bytes,
        compress=False,
    )
    await ws.prepare(request)
    assert request.transport is not None
    client = Client(
        ws,
        request.transport,
        request.protocol,
        caller.id,
        caller.username,
        settings.ws_queue_size,
    )
    writer = asyncio.create_task(client.write_loop())
    replays: set[asyncio.Task[None]] = set()
    try:
        # Subscribed first, then the snapshot: what is published meanwhile waits in the
        # client and is sent after the hello, without what the hello already covers.
        await hub.attach(client)
        positions, hello = await realtime.messages.hello(caller.id)
        client.start(positions, text_frame(hello))
        if await realtime.presence.connect(caller.id, client.device_id):
            await realtime.announce_presence(client, True)
        last_typing: dict[int, float] = {}
        async for frame in ws:
            if frame.type is WSMsgType.TEXT:
                await _handle(frame.data, client, hub, realtime, last_typing, replays)
            elif frame.type is WSMsgType.BINARY:
                client.send(_error("frames must be JSON text"))
            elif frame.type is WSMsgType.ERROR:
                break
    finally:
        hub.detach(client)
        for task in replays:
            task.cancel()
        client.closed = True
        client.ready.set()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        with contextlib.suppress(Exception):
            if await realtime.presence.disconnect(caller.id, client.device_id):
                await realtime.announce_presence(client, False)
    return ws


async def _handle(
    text: str,
    client: Client,
    hub: Hub,
    realtime: Realtime,
    last_typing: dict[int, float],
    replays: set[asyncio.Task[None]],
) -> None:
    try:
        event = _EVENT.load(loads(text))
    except ValueError:
        client.send(_error("frames must be JSON objects"))
        return
    except marshmallow.ValidationError as exc:
        fields = flatten_messages(exc.messages)
        client.send(_error("the event is not valid", fields))
        return
    kind = event["type"]
    if kind == "ping":
        client.send(render.event("pong", {}))
        return
    chat_id = event["chatId"]
    if chat_id not in client.chats:
        client.send(_error("chat not found", {"chatId": ["not found"]}))
        return
    if kind == "typing":
        now = time.monotonic()
        if now - last_typing.get(chat_id, -1e9) < realtime.settings.typing_interval:
            return  # throttled: one typing event per chat and interval
        last_typing[chat_id] = now
        data = {"chatId": chat_id, "username": client.username}
        await realtime.publisher.chat_event(
            chat_id, render.event("typing", data), skip_user=client.user_id
        )
    elif kind == "resume":
        # Off the read loop: a long replay must not hold pings and other events.
        task = asyncio.create_task(hub.replay(client, chat_id, event["afterSeq"], announce=True))
        replays.add(task)
        task.add_done_callback(replays.discard)
