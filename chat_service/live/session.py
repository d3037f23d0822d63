"""The websocket of a device: hello, live events, resume, typing, presence and heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import asyncpg
import marshmallow
from aiohttp import WSMsgType, web

from chat_service import compose
from chat_service.live.heartbeat import Heartbeat
from chat_service.live.hub import Hub
from chat_service.live.presence import Presence
from chat_service.live.publisher import Publisher
from chat_service.live.sockets import Client, Flusher, text_frame
from chat_service.messages import Messages
from chat_service.moderation import banned
from chat_service.queries import moderation as q_moderation
from chat_service.queries import users as q_users
from chat_service.schemas.messages import ClientEventIn
from chat_service.settings import ChatSettings
from chat_service.users import Directory
from shared.web.errors import flatten_messages
from shared.web.identity import Caller
from shared.web.jsoncodec import loads

_EVENT = ClientEventIn()


def error_event(message: str, fields: dict[str, list[str]] | None = None) -> str:
    data: dict[str, Any] = {"message": message}
    if fields:
        data["fields"] = fields
    return compose.event("error", data)


class Sessions:
    """What a socket needs besides the hub: the hello, presence and typing."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: ChatSettings,
        hub: Hub,
        users: Directory,
        messages: Messages,
        publisher: Publisher,
        presence: Presence,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.hub = hub
        self.users = users
        self.messages = messages
        self.publisher = publisher
        self.presence = presence
        # One for every socket of the replica: a turn of the loop ends in one write each.
        self.flusher = Flusher()
        self.heartbeat = Heartbeat(settings.ws_heartbeat)
        self._leaving: set[asyncio.Task[None]] = set()  # devices' presence being settled

    async def serve(self, request: web.Request, caller: Caller) -> web.WebSocketResponse:
        """Upgrades the request and serves the device until it hangs up."""
        settings = self.settings
        await self.users.ensure(caller)
        # No compression: events go out as frames built once for every socket (sockets.py).
        # Pings are ours (live/heartbeat.py): aiohttp's would cost timers and a task each.
        ws = web.WebSocketResponse(
            autoping=False,
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
            flusher=self.flusher,
        )
        replays: set[asyncio.Task[None]] = set()
        try:
            # Subscribed first, then the snapshot: what is published meanwhile waits in the
            # client and is sent after the hello, without what the hello already covers.
            await self.hub.attach(client)
            positions, hello = await self.messages.hello(caller.id)
            # The device counts as online before it hears its hello: a client that has the
            # hello may close its other sockets and still be seen online by everyone.
            came_online = await self.presence.connect(caller.id, client.device_id)
            client.start(positions, text_frame(hello))
            self.heartbeat.add(client)  # pinged after its hello, as the client expects
            if came_online:
                await self.announce_presence(client, True)
            last_typing: dict[int, float] = {}
            async for frame in ws:
                client.pinged = False  # anything it sends shows it alive
                if frame.type is WSMsgType.PONG:
                    continue
                if frame.type is WSMsgType.PING:
                    await ws.pong(frame.data)
                elif frame.type is WSMsgType.TEXT:
                    await self._handle(frame.data, client, last_typing, replays)
                elif frame.type is WSMsgType.BINARY:
                    client.send(error_event("frames must be JSON text"))
                elif frame.type is WSMsgType.ERROR:
                    break
        finally:
            self.heartbeat.discard(client)
            self.hub.detach(client)
            for task in replays:
                task.cancel()
            client.stop()
            # Settled even if this handler is cancelled meanwhile (the connection lost, a
            # shutdown's deadline): else the device would count as online until its entry
            # lapses, and nobody would hear that the user went offline.
            leaving = asyncio.create_task(self._leave(client))
            self._leaving.add(leaving)
            leaving.add_done_callback(self._leaving.discard)
            await asyncio.shield(leaving)
        return ws

    async def settle(self, seconds: float = 5.0) -> None:
        """Waits a while for the devices whose presence is being settled: at shutdown,
        before the connections they use are closed."""
        if self._leaving:
            await asyncio.wait(set(self._leaving), timeout=seconds)

    async def _leave(self, client: Client) -> None:
        """The device is gone: forgotten by presence, and the user's offline announced when it
        was their last."""
        with contextlib.suppress(Exception):
            if await self.presence.disconnect(client.user_id, client.device_id):
                await self.announce_presence(client, False)

    async def announce_presence(self, client: Client, online: bool) -> None:
        """Tells the user's direct and group chats; the general chat's thousands of members
        see presence where they look for it (the chat's member list)."""
        async with self.pool.acquire() as connection:
            chat_ids = await q_users.member_chat_ids(connection, client.user_id, general=False)
        for chat_id in chat_ids:
            data = {"chatId": chat_id, "username": client.username, "online": online}
            await self.publisher.chat_event(
                chat_id, compose.event("presence", data), skip_user=client.user_id, recorded=False
            )

    async def _handle(
        self,
        text: str,
        client: Client,
        last_typing: dict[int, float],
        replays: set[asyncio.Task[None]],
    ) -> None:
        """One frame a client sent."""
        try:
            event = _EVENT.load(loads(text))
        except ValueError:
            client.send(error_event("frames must be JSON objects"))
            return
        except marshmallow.ValidationError as exc:
            fields = flatten_messages(exc.messages)
            client.send(error_event("the event is not valid", fields))
            return
        kind = event["type"]
        if kind == "ping":
            client.send(compose.event("pong", {}))
            return
        chat_id = event["chatId"]
        if chat_id not in client.chats:
            client.send(error_event("chat not found", {"chatId": ["not found"]}))
            return
        if kind == "typing":
            now = time.monotonic()
            if now - last_typing.get(chat_id, -1e9) < self.settings.typing_interval:
                return  # throttled: one typing event per chat and interval
            last_typing[chat_id] = now
            async with self.pool.acquire() as connection:
                until = await q_moderation.banned_until(connection, client.user_id)
            if until is not None:
                client.send(error_event(banned(until).messages[0]))
                return
            data = {"chatId": chat_id, "username": client.username}
            await self.publisher.chat_event(
                chat_id, compose.event("typing", data), skip_user=client.user_id, recorded=False
            )
        elif kind == "resume":
            # Off the read loop: a long replay must not hold pings and other events.
            task = asyncio.create_task(
                self.hub.replay(client, chat_id, event["afterSeq"], announce=True)
            )
            replays.add(task)
            task.add_done_callback(replays.discard)
