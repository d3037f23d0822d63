"""The machine's ceiling: a bare aiohttp JSON handler. `python -m bench.ceiling PORT`"""

from __future__ import annotations

import sys

import uvloop
from aiohttp import web


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"articles": [], "articlesCount": 0})


if __name__ == "__main__":
    app = web.Application()
    app.router.add_get("/{tail:.*}", hello)
    web.run_app(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )
