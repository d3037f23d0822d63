"""The yardstick: the few lines of a naive aiohttp proxy that forwards GETs.

`python -m bench.naive_proxy PORT UPSTREAM_URL`
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import aiohttp
import uvloop
from aiohttp import web

SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("session", aiohttp.ClientSession)


def create_app(upstream: str) -> web.Application:
    async def forward(request: web.Request) -> web.Response:
        async with request.app[SESSION].get(upstream + request.path_qs) as response:
            body = await response.read()
            return web.Response(
                body=body, status=response.status, content_type=response.content_type
            )

    async def session_ctx(app: web.Application) -> AsyncIterator[None]:
        app[SESSION] = aiohttp.ClientSession()
        yield
        await app[SESSION].close()

    app = web.Application()
    app.cleanup_ctx.append(session_ctx)
    app.router.add_get("/{tail:.*}", forward)
    return app


if __name__ == "__main__":
    port, upstream = int(sys.argv[1]), sys.argv[2]
    web.run_app(
        create_app(upstream),
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )
