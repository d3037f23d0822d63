"""What a service's middlewares do, done by one wrapper around each gateway handler.

The gateway's app has no middlewares: every layer costs time on every proxied request, so
request ids, errors in the API format, metrics and the gateway's response headers are
handled here, in one call.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.headers import ResponseHeaders
from shared.logs import request_id_var
from shared.web.errors import response_for_error
from shared.web.middleware import REQUEST_ID, Metrics, request_id_of


class Guard:
    def __init__(self, headers: ResponseHeaders, metrics: Metrics) -> None:
        self._headers = headers
        self._metrics = metrics

    def wrap(self, handler: Handler, label: str) -> Handler:
        """`handler` with request ids, API-format errors, metrics and response headers;
        `label` names it in the metrics."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            started = time.perf_counter()
            request_id = request_id_of(request)
            request[REQUEST_ID] = request_id
            reset = request_id_var.set(request_id)
            status = 500
            try:
                try:
                    response = await handler(request)
                except Exception as exc:
                    response = response_for_error(request, exc)
                status = response.status
                if not response.prepared:
                    self._headers.apply(request, response, request_id)
                return response
            finally:
                request_id_var.reset(reset)
                self._metrics.observe(
                    request.method, label, str(status), time.perf_counter() - started
                )

        return guarded
