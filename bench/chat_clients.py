"""The receiving clients of `bench.chat`, in processes of their own: each opens its share of
the sockets, then times every message it receives from its send time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import aiohttp
import orjson
import uvloop


@dataclass
class RoundResult:
    delays_ms: array[float]
    last_receipt: float
    frame_bytes: int
    close_codes: list[str]  # why every socket dropped so far ended (`ending`)


def ending(ws: aiohttp.ClientWebSocketResponse, raised: BaseException | None = None) -> str:
    """Why a socket ended: what its reading raised, the server's close code, or what broke
    it without one (the connection reset, a frame the client could not parse)."""
    if raised is not None:
        return f"raised {type(raised).__name__}: {str(raised)[:80]}"
    if ws.close_code is not None:
        return str(ws.close_code)
    error = ws.exception()
    return f"no close frame ({type(error).__name__ if error else 'connection lost'})"


CONNECT_CONCURRENCY = 32  # per client process
OPEN_WITHIN = 30.0  # seconds for a client process to open its sockets; the rest are missing
MESSAGE_PREFIX = '{"type":"message.created"'


@dataclass
class Receiver:
    """What the sockets of one client process received in the current round."""

    live: int = 0
    tag: str = ""
    count: int = 0
    got: list[int] = field(default_factory=list)
    complete: int = 0
    delays_ms: array[float] = field(default_factory=lambda: array("d"))
    last_receipt: float = 0.0
    frame_bytes: int = 0
    close_codes: list[str] = field(default_factory=list)
    stopping: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    live_sockets: int = 0  # open sockets, idle ones included

    async def idle(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """An idle socket: read (which answers pings), never counted in a round."""
        raised: BaseException | None = None
        try:
            async for _ in ws:
                pass
        except BaseException as error:
            raised = error
            raise
        finally:
            if not self.stopping:
                self.close_codes.append(ending(ws, raised))
                self.live_sockets -= 1

    def begin(self, tag: str, count: int) -> None:
        self.tag, self.count, self.complete = tag, count, 0
        self.got = [0] * len(self.got)
        self.delays_ms = array("d")
        self.done.clear()

    def result(self) -> RoundResult:
        return RoundResult(self.delays_ms, self.last_receipt, self.frame_bytes, self.close_codes)

    def frame(self, index: int, text: str, now: float) -> None:
        if not text.startswith(MESSAGE_PREFIX):
            return  # presence, joins: not what is measured
        tag, sent, _ = orjson.loads(text)["data"]["body"].split(" ", 2)
        if tag != self.tag:
            return  # late from an earlier round
        self.delays_ms.append((now - float(sent)) * 1000.0)
        self.last_receipt = now
        self.frame_bytes = len(text)
        self.got[index] += 1
        if self.got[index] == self.count:
            self.complete += 1
            if self.complete >= self.live:
                self.done.set()

    async def listen(self, ws: aiohttp.ClientWebSocketResponse, index: int) -> None:
        raised: BaseException | None = None
        try:
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    # Wall-clock time: the sender is another process.
                    self.frame(index, message.data, time.time())
        except BaseException as error:
            raised = error
            raise
        finally:
            if not self.stopping:
                self.close_codes.append(ending(ws, raised))
                self.live -= 1
                self.live_sockets -= 1
                if self.got[index] >= self.count > 0:
                    self.complete -= 1
                if self.complete >= self.live:
                    self.done.set()


async def _open(
    session: aiohttp.ClientSession, url: str, gate: asyncio.Semaphore, deadline: float
) -> aiohttp.ClientWebSocketResponse:
    async with asyncio.timeout_at(deadline), gate:
        ws = await session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5.0))
        hello = await ws.receive()
    if hello.type is not aiohttp.WSMsgType.TEXT or '"hello"' not in hello.data[:20]:
        await ws.close()
        raise RuntimeError(f"expected a hello, got {hello.type} {str(hello.data)[:80]}")
    return ws


async def _clients(
    conn: Connection, urls: list[str], idle_urls: list[str], open_within: float
) -> None:
    """Opens the sockets (those of `idle_urls` are only held open and read), then runs the
    rounds the parent asks for until it says stop; ("count",) answers the sockets still
    open and every close code so far."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        deadline = asyncio.get_running_loop().time() + open_within
        receiver = Receiver()
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        listeners: list[asyncio.Task[None]] = []
        errors: list[str] = []

        async def open_one(url: str, idle: bool = False) -> None:
            try:
                ws = await _open(session, url, gate, deadline)
            except aiohttp.WSServerHandshakeError as error:
                errors.append(f"refused with {error.status}")
                return
            except (aiohttp.ClientError, TimeoutError, RuntimeError) as error:
                errors.append(f"{type(error).__name__} {str(error)[:80]}".strip())
                return
            # Read at once: aiohttp answers pings only while a socket is read, and a server
            # closes a socket that leaves its pings unanswered.
            receiver.live_sockets += 1
            if idle:
                listeners.append(asyncio.create_task(receiver.idle(ws)))
                sockets.append(ws)
                return
            receiver.live += 1
            receiver.got.append(0)  # its count, at the index its listener is given
            listeners.append(asyncio.create_task(receiver.listen(ws, len(receiver.got) - 1)))
            sockets.append(ws)

        await asyncio.gather(
            *(open_one(url) for url in urls), *(open_one(url, True) for url in idle_urls)
        )
        conn.send((len(sockets), dict(Counter(errors))))
        try:
            while (command := await asyncio.to_thread(conn.recv))[0] in ("round", "count"):
                if command[0] == "count":
                    conn.send((receiver.live_sockets, list(receiver.close_codes)))
                    continue
                _, tag, count, seconds = command
                receiver.begin(tag, count)
                conn.send("armed")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(seconds):
                        await receiver.done.wait()
                conn.send(receiver.result())
        finally:
            receiver.stopping = True
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)


def client_process(
    conn: Connection,
    urls: list[str],
    idle_urls: list[str] | None = None,
    open_within: float = OPEN_WITHIN,
) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_clients(conn, urls, idle_urls or [], open_within))
    conn.close()


# The parent: opening, sending, the figures.
