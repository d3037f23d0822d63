"""aiohttp's HTTP server with its protocol-level errors in the API format, and the runner.

A request line or header that aiohttp's parser refuses (too long, not HTTP) never reaches an
app or its middlewares: aiohttp answers it from `RequestHandler.handle_error` in
`text/plain`, echoing the offending input. Every process serves through `run_app` here, whose
handler answers those in the one error format instead, without the input.
"""

from __future__ import annotations

import asyncio
import secrets
from contextlib import suppress

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from shared.transport.jsoncodec import CONTENT_TYPE, dumps_bytes
from shared.web.errors import ApiError, default_message
from shared.web.middleware import REQUEST_ID_HEADER


def protocol_error_message(status: int, exc: BaseException | None) -> str:
    if status >= 500:
        return default_message(500)
    if isinstance(exc, LineTooLong):
        return "the request line or a header is too long"
    if isinstance(exc, BadHttpMethod):
        return "the request method is not valid HTTP"
    return "the request is not valid HTTP/1.1"


class ApiRequestHandler(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's version logs, refuses when a response has begun, and closes the
        # connection; only its body (which may quote the input) is replaced.
        plain = super().handle_error(request, status, exc, message)
        error = ApiError(protocol_error_message(status, exc))
        response = web.Response(
            status=plain.status,
            body=dumps_bytes(error.body()),
            headers={"Content-Type": CONTENT_TYPE, REQUEST_ID_HEADER: secrets.token_hex(16)},
        )
        response.force_close()
        return response


class ApiServer(web.Server):
    def __call__(self) -> RequestHandler:
        return ApiRequestHandler(self, loop=self._loop, **self._kwargs)


class ApiAppRunner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The app builds its Server itself (from its private _make_handler); ApiServer adds
        # no state, only the protocol class it hands out, so the instance is re-classed.
        server.__class__ = ApiServer
        return server


async def _serve(app: web.Application, host: str, port: int, shutdown_timeout: float) -> None:
    runner = ApiAppRunner(
        app, access_log=None, shutdown_timeout=shutdown_timeout, handle_signals=True
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        await asyncio.Event().wait()  # until SIGINT or SIGTERM raises GracefulExit
    finally:
        await runner.cleanup()


def run_app(
    app: web.Application,
    *,
    host: str,
    port: int,
    shutdown_timeout: float,
    loop: asyncio.AbstractEventLoop,
) -> None:
    """web.run_app's life cycle (signals, graceful shutdown), through ApiAppRunner."""
    asyncio.set_event_loop(loop)
    main = loop.create_task(_serve(app, host, port, shutdown_timeout))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not main.done():
            # Cancelling the main task runs its `finally`: the runner's graceful cleanup.
            main.cancel()
            with suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
