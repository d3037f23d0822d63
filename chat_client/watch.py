"""`watch`: the last messages of a chat, then what happens live, across reconnections.

The websocket is opened before the history is fetched, so nothing sent in between is lost:
it waits in the socket and is shown after the history, once, because every message is
recognised by its chat and `seq`. After a lost connection (the network, a restarted
gateway, or the server dropping a client that fell behind with 1008/1013) the watcher
reconnects with a growing delay and asks the server to `resume` each chat after the last
seq it has seen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp

from chat_client.api import ChatApi
from chat_client.errors import ApiError, ClientError, GatewayUnreachable
from chat_client.models import Chat, Message, chat_title
from chat_client.render import Renderer

RECONNECT_FIRST = 1.0
RECONNECT_MAX = 30.0
HELLO_TIMEOUT = 15.0
# Close codes the server uses for a client that fell too far behind.
CATCH_UP_CODES = frozenset({1008, 1013})
# Events that change nothing a reader needs to see.
QUIET_EVENTS = frozenset({"hello", "pong", "resumed", "chat.read"})


@dataclass
class Seen:
    """What this watch knows per chat: the seqs it has shown, and the highest seq known
    (shown, or already there when watching began), after which a resume starts."""

    shown: dict[int, set[int]] = field(default_factory=dict)
    high: dict[int, int] = field(default_factory=dict)

    def is_new(self, chat_id: int, seq: int) -> bool:
        return seq not in self.shown.get(chat_id, set())

    def mark(self, chat_id: int, seq: int) -> None:
        self.shown.setdefault(chat_id, set()).add(seq)
        self.baseline(chat_id, seq)

    def baseline(self, chat_id: int, seq: int) -> None:
        if seq > self.high.get(chat_id, 0):
            self.high[chat_id] = seq

    def shown_high(self) -> dict[int, int]:
        return {chat_id: max(seqs) for chat_id, seqs in self.shown.items() if seqs}


def close_reason(code: int | None) -> str:
    if code in CATCH_UP_CODES:
        return f"the server dropped this client for falling behind (code {code})"
    if code is None:
        return "the connection was lost"
    return f"the connection was closed (code {code})"


class Watcher:
    def __init__(
        self,
        api: ChatApi,
        renderer: Renderer,
        write: Callable[[str], None],
        focus: Chat,
        *,
        everything: bool = False,
        limit: int = 20,
        verbose: bool = False,
        titles: dict[int, str] | None = None,
    ) -> None:
        self.api = api
        self.renderer = renderer
        self.write = write
        self.focus = focus
        self.everything = everything
        self.limit = limit
        self.verbose = verbose
        self.titles = dict(titles or {})
        self.seen = Seen()
        self.connected_once = False
        self._lasted = False
        self._looked_up: set[int] = set()
        # username -> online, as last shown: a person in several of my chats is announced
        # by each of them, but their coming and going is one line.
        self._presence: dict[str, bool] = {}
        self.me = api.session.username if api.session else None
        self.stop_hint = "Ctrl-C to stop"
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def run(self) -> None:
        """Runs until cancelled (Ctrl-C); fails only if the very first connection fails."""
        delay = RECONNECT_FIRST
        try:
            while True:
                try:
                    async with self.api.websocket() as ws:
                        code = await self._serve(ws)
                    reason = close_reason(code)
                    delay = RECONNECT_FIRST if self._lasted else delay
                except GatewayUnreachable as exc:
                    if not self.connected_once:
                        raise
                    reason = f"the gateway is unreachable ({exc.reason})"
                except ApiError as exc:
                    # A service restarting behind the gateway (5xx) passes; a refusal stays.
                    if not self.connected_once or exc.status < 500:
                        raise
                    reason = exc.message
                self.write(f"-- {reason}; reconnecting in {delay:g} s --")
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX)
        finally:
            self.save()

    def save(self) -> None:
        self.api.store.record_seen(self.seen.shown_high())

    def follows(self, chat_id: int) -> bool:
        return self.everything or chat_id == self.focus["id"]

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> int | None:
        self._lasted = False
        self._ws = ws
        first = await self._first_frame(ws)
        if first is None:
            if not self.connected_once:
                raise ClientError(f"the live connection failed: {close_reason(ws.close_code)}")
            return ws.close_code
        hello = first.get("data") if first.get("type") == "hello" else {}
        chats = hello.get("chats", []) if isinstance(hello, dict) else []
        if not self.connected_once:
            await self._begin(chats)
        else:
            await self._resume(ws, chats)
        self.connected_once = True
        if first.get("type") != "hello":
            await self._handle(first)
        async for frame in ws:
            if frame.type is aiohttp.WSMsgType.TEXT:
                try:
                    event = json.loads(frame.data)
                except ValueError:
                    continue  # not ours to understand; the next frame may be
                if isinstance(event, dict):
                    await self._handle(event)
                    # A connection that carried events was a good one: the next
                    # reconnection starts again with a short delay.
                    self._lasted = True
            elif frame.type is aiohttp.WSMsgType.ERROR:
                break
        return ws.close_code

    async def _first_frame(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(HELLO_TIMEOUT):  # not wait_for, which may lose a Ctrl-C
                frame = await ws.receive()
        except TimeoutError:
            return None
        if frame.type is not aiohttp.WSMsgType.TEXT:
            return None
        try:
            event = json.loads(frame.data)
        except ValueError:
            return None
        return cast(dict[str, Any], event) if isinstance(event, dict) else None

    async def _begin(self, chats: list[dict[str, Any]]) -> None:
        """The first connection: the focus chat's last messages, then the live marker."""
        for info in chats:
            # In --all mode, other chats start from where they are now: only what comes
            # next is shown, and a resume after a reconnection starts there.
            self.seen.baseline(int(info["chatId"]), int(info.get("lastSeq") or 0))
        for message in await self.api.messages(self.focus["id"], limit=self.limit):
            await self._show(message)
        self.save()
        scope = " and new messages in every chat" if self.everything else ""
        self.write(f"-- watching {chat_title(self.focus)}{scope} live; {self.stop_hint} --")

    async def _resume(self, ws: aiohttp.ClientWebSocketResponse, chats: list[Any]) -> None:
        """After a reconnection: replay what each followed chat got while we were away."""
        for info in chats:
            chat_id = int(info["chatId"])
            if not self.follows(chat_id):
                continue
            after = self.seen.high.get(chat_id, 0)
            if int(info.get("lastSeq") or 0) > after:
                await ws.send_json({"type": "resume", "chatId": chat_id, "afterSeq": after})
        self.write("-- reconnected --")

    async def _handle(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type"))
        data = event.get("data")
        if kind in QUIET_EVENTS:
            return
        chat_id = data.get("chatId") if isinstance(data, dict) else None
        if chat_id is not None and not self.follows(int(chat_id)):
            return
        if kind == "message.created" and isinstance(data, dict):
            if await self._show(cast(Message, data)):
                # What was shown is recorded at once: a `missed` run in another terminal
                # must not list it again.
                self.save()
            return
        if not self._worth_a_line(kind, data):
            return
        label = await self._label(chat_id)
        line = self.renderer.event(kind, data, label=label, verbose=self.verbose)
        if line is not None:
            self.write(line)

    def _worth_a_line(self, kind: str, data: Any) -> bool:
        """Drops what tells the reader nothing: a presence already shown (it comes once per
        shared chat), and the reader's own arrival in a chat."""
        if not isinstance(data, dict):
            return True
        if kind == "presence":
            name, online = str(data.get("username")), bool(data.get("online"))
            if self._presence.get(name) == online:
                return False
            self._presence[name] = online
        return not (kind == "chat.member_joined" and self._about_me(data))

    def _about_me(self, data: Any) -> bool:
        user = data.get("user") if isinstance(data, dict) else None
        return isinstance(user, dict) and self.me is not None and user.get("username") == self.me

    async def _show(self, message: Message) -> bool:
        """Writes a message not shown before; whether it did."""
        chat_id = int(message["chatId"])
        seq = message.get("seq")
        if seq is not None:
            if not self.seen.is_new(chat_id, seq):
                return False
            self.seen.mark(chat_id, seq)
        label = await self._label(chat_id)
        self.write(self.renderer.message(message, label=label))
        return True

    async def _label(self, chat_id: Any) -> str | None:
        """Other chats are labelled with their title; a chat that appeared since watching
        began is looked up until a lookup succeeds (a gateway busy for a moment must not
        leave a chat named by its number for the rest of the watch)."""
        if chat_id is None or int(chat_id) == self.focus["id"]:
            return None
        chat_id = int(chat_id)
        if chat_id not in self.titles and chat_id not in self._looked_up:
            try:
                found = await self.api.list_chats()
            except (ApiError, GatewayUnreachable):
                return f"chat {chat_id}"
            self._looked_up.add(chat_id)
            self.titles.update({chat["id"]: chat_title(chat) for chat in found})
        return self.titles.get(chat_id, f"chat {chat_id}")
