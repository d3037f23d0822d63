"""The yardstick of `bench.chat`: a bare aiohttp server that broadcasts from memory.

`python -m bench.broadcast PORT`. `GET /ws` upgrades and sends a hello; `POST /messages` with
`{"message": {"body": ...}}` builds a message.created frame with the fields chat_service sends
(same shape, about the same size) and sends it to every connected socket, then answers 201.
No database, no Redis, no gateway, no per-socket queue: the least a broadcast can cost.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import uvloop
from aiohttp import WSMsgType, web

SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets", set)
# Sockets opened with `?quiet=1`: held open and sent the hello, never a broadcast (the idle
# sockets of `bench.chat --idle`).
QUIET: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("quiet", set)
SEQS: web.AppKey[Iterator[int]] = web.AppKey("seqs", Iterator)


async def socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    sockets = request.app[QUIET if request.query.get("quiet") else SOCKETS]
    sockets.add(ws)
    try:
        await ws.send_str('{"type":"hello","data":{"general":[],"chats":[]}}')
        async for frame in ws:
            if frame.type is WSMsgType.ERROR:
                break
    finally:
        sockets.discard(ws)
    return ws


async def send_message(request: web.Request) -> web.Response:
    body = (await request.json())["message"]["body"]
    seqs = request.app[SEQS]
    seq = next(seqs)
    message = {
        "id": seq,
        "chatId": 2,
        "seq": seq,
        "author": {"username": "chatbench000", "image": None},
        "body": body,
        "attachment": None,
        "replyTo": None,
        "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "editedAt": None,
        "deleted": False,
        "expiresAt": None,
        "commentsCount": 0,
    }
    text = orjson.dumps({"type": "message.created", "data": message}).decode()
    sockets = request.app[SOCKETS]
    for ws in list(sockets):
        if not ws.closed:
            await ws.send_str(text)
    return web.json_response({"message": message}, status=201)


async def health(request: web.Request) -> web.Response:
    return web.json_response(
        {"sockets": len(request.app[SOCKETS]), "quiet": len(request.app[QUIET])}
    )


if __name__ == "__main__":
    app = web.Application()
    app[SOCKETS] = set()
    app[QUIET] = set()
    app[SEQS] = itertools.count(1)
    app.router.add_get("/ws", socket)
    app.router.add_post("/messages", send_message)
    app.router.add_get("/health", health)
    web.run_app(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )
