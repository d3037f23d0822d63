"""One connected device: its bounded send queue, its writer, and what it has been sent.

Frames are built once per event (a server's frames are not masked, so every socket gets the
same bytes) and written to the socket's transport at the end of the event loop's turn that
made them, all of a socket's frames of that turn in one write (`Flusher`): a replica that
fell behind reads many events from Redis at once, and then sends each socket one write for
all of them instead of one per event. Once a transport holds more than it can send, frames
wait in the bounded queue and go out together when it drains, and a client whose queue
fills is closed.

Per chat a socket remembers the range of seqs `(low, high]` of which it has sent every
message.created, so that a replay (hello, resume, a newly joined chat) and live delivery meet
without a gap or a duplicate: a live message at or below `high` was already sent, and a
replay skips the range. While a replay of a chat runs, live messages of that chat wait in a
buffer and follow the replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.base_protocol import BaseProtocol

log = logging.getLogger(__name__)

Frame = bytes


def text_frame(text: str) -> Frame:
    """A final, unmasked text frame (RFC 6455 5.2), as a server sends it."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return bytes((0x81, 126)) + size.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + size.to_bytes(8, "big") + payload


# Close codes (RFC 6455 7.4.1 and IANA): 1013 "try again later" for a client that fell behind.
CLOSE_TOO_SLOW = 1013
CLOSE_GOING_AWAY = 1001


class Flusher:
    """The frames pushed to sockets during one turn of the event loop, written at its end:
    one write (a system call, and a read at the other end) per socket and turn, however many
    events the turn delivered. One per replica; a frame waits at most for the rest of the
    turn."""

    def __init__(self) -> None:
        self._pending: dict[Client, list[Frame]] = {}

    def add(self, client: Client, frame: Frame) -> None:
        frames = self._pending.get(client)
        if frames is not None:
            frames.append(frame)
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending[client] = [frame]

    def holds(self, client: Client) -> bool:
        return client in self._pending

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for client, frames in pending.items():
            client.write_now(frames)


@dataclass
class Window:
    low: int
    high: int


@dataclass(eq=False)  # a socket is itself: compared and hashed by identity
class Client:
    ws: web.WebSocketResponse
    transport: asyncio.Transport
    protocol: BaseProtocol
    user_id: int
    username: str
    queue_size: int
    flusher: Flusher = field(default_factory=Flusher)
    device_id: str = field(default_factory=lambda: secrets.token_hex(8))
    chats: set[int] = field(default_factory=set)
    windows: dict[int, Window] = field(default_factory=dict)
    # Live deliveries that arrived before the hello was queued, or during a chat's replay.
    early: list[tuple[int, int | None, Frame]] | None = field(default_factory=list)
    # The user's own events (a notification, a read marker) that came before the hello.
    early_own: list[Frame] = field(default_factory=list)
    replaying: dict[int, list[tuple[int | None, Frame]]] = field(default_factory=dict)
    closed: bool = False
    # A ping went out and the client has sent nothing since (live/heartbeat.py).
    pinged: bool = False
    # The event log's last id when the socket attached: older events are in its hello.
    log_mark: int = 0
    # Set once the hello is queued (or the socket is gone): work for the socket waits for it.
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _closing: asyncio.Task[None] | None = None
    # What waits while the client is behind, and the task that sends it, which exists only
    # then: an idle socket among thousands holds no task and no waiter of its own.
    _queue: list[Frame] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None
    _room: asyncio.Future[None] | None = None  # a paced replay waits for the queue to empty

    # Sending.

    def push(self, frame: Frame) -> None:
        """Sends a live frame at the end of this turn of the loop, or queues it while the
        client is behind; a client whose queue is full is closed, never waited for."""
        if self.closed or self.transport.is_closing():
            # A client may hang up right after the handshake, before the read loop notices:
            # nothing reaches it any more, and writing would raise.
            return
        # Behind a frame that waits for the turn's end, whatever happened meanwhile: in order.
        if self.flusher.holds(self) or (not self._queue and not self.protocol.writing_paused):
            self.flusher.add(self, frame)
            return
        self._enqueue(frame)

    def write_now(self, frames: list[Frame]) -> None:
        """The turn's frames: written in one go if the client keeps up, queued after what
        already waits otherwise."""
        if self.transport.is_closing():
            return
        if not self._queue and not self.protocol.writing_paused:
            self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
            return
        for frame in frames:
            if self.closed:
                return
            self._enqueue(frame)

    def _enqueue(self, frame: Frame) -> None:
        if len(self._queue) >= self.queue_size:
            log.info("websocket closed: client too slow", extra={"user_id": self.user_id})
            self.close(CLOSE_TOO_SLOW, "too slow: reconnect and resume")
            return
        self._queue.append(frame)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_queued())

    def send(self, text: str) -> None:
        """An event for this socket alone."""
        self.push(text_frame(text))

    async def push_paced(self, frame: Frame) -> None:
        """Queues a replayed frame, waiting while the queue is over half full so that a long
        replay leaves room for live frames."""
        while len(self._queue) * 2 >= self.queue_size and not self.closed:
            if self._room is None:
                self._room = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._room)
        self.push(frame)

    async def _write_queued(self) -> None:
        """Sends what waits in the queue, all of it in one write, whenever the transport
        can take more; ends once the queue is empty."""
        try:
            while self._queue and not self.closed:
                if self.protocol.writing_paused:
                    await self.protocol._drain_helper()  # aiohttp's flow control
                    continue
                batch = b"".join(self._queue)
                self._queue.clear()
                self._make_room()
                self.transport.write(batch)
        except (ConnectionError, RuntimeError) as exc:
            # The peer went away; the read loop sees the close and cleans up.
            log.debug("websocket write ended", extra={"error": repr(exc)})
            self.closed = True
        finally:
            self._writer = None
            self._make_room()

    def _make_room(self) -> None:
        if self._room is not None:
            if not self._room.done():
                self._room.set_result(None)
            self._room = None

    def stop(self) -> None:
        """The socket is gone: nothing more is sent, and no task is left behind."""
        self.closed = True
        self.ready.set()
        self._make_room()
        if self._writer is not None:
            self._writer.cancel()

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._make_room()
        self.ready.set()
        self._closing = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        # A stalled peer cannot take the close frame either: give it a moment, then cut it.
        try:
            async with asyncio.timeout(2.0):
                await self.ws.close(code=code, message=reason.encode())
        except (TimeoutError, ConnectionError, RuntimeError):
            with contextlib.suppress(Exception):
                self.transport.abort()

    # What a chat's live stream and its replays have sent.

    def start(self, positions: dict[int, int], hello: Frame) -> None:
        """Queues the hello and what arrived while it was built: the client now holds each
        chat up to the seq the hello reported."""
        for chat_id, last_seq in positions.items():
            self.windows[chat_id] = Window(last_seq, last_seq)
        self.push(hello)
        early, self.early = self.early or [], None
        for chat_id, seq, frame in early:
            self.offer(chat_id, seq, frame)
        own, self.early_own = self.early_own, []
        for frame in own:
            self.push(frame)
        self.ready.set()

    def offer_own(self, frame: Frame) -> None:
        """One of the user's own events: after the hello, as every event is."""
        if self.early is not None:
            self.early_own.append(frame)
        else:
            self.push(frame)

    def offer(self, chat_id: int, seq: int | None, frame: Frame) -> None:
        """A live frame of a chat: `seq` is set for message.created, None for other events."""
        if self.early is not None:
            self.early.append((chat_id, seq, frame))
            return
        if chat_id not in self.chats:
            return
        buffer = self.replaying.get(chat_id)
        if buffer is not None:
            buffer.append((seq, frame))
            return
        if seq is not None:
            window = self.windows.get(chat_id)
            if window is None:
                return  # the chat is being attached; its replay covers this message
            if seq <= window.high:
                return
            window.high = seq
        self.push(frame)

    def forget(self, chat_id: int) -> None:
        """The socket's user is no longer in the chat."""
        self.chats.discard(chat_id)
        self.windows.pop(chat_id, None)

    def begin_replay(self, chat_id: int) -> None:
        self.replaying.setdefault(chat_id, [])

    def end_replay(self, chat_id: int, after: int, upto: int) -> int:
        """Ends a replay of `(after, upto]`; sends what arrived live meanwhile. Returns the
        chat's new high mark."""
        window = self.windows.setdefault(chat_id, Window(after, after))
        window.low = min(window.low, after)
        window.high = max(window.high, upto)
        for seq, frame in self.replaying.pop(chat_id, []):
            if seq is not None:
                if seq <= window.high:
                    continue
                window.high = seq
            self.push(frame)
        return window.high
