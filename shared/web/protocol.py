"""aiohttp's connection handler with its protocol-level errors in the API format.

A request line or header that aiohttp's parser refuses (too long, not HTTP) never reaches an
app or its middlewares: aiohttp answers it from `RequestHandler.handle_error` in
`text/plain`, echoing the offending input, and logs the parser's message, which quotes that
input too (an oversized `Authorization` header would put a token in the logs). This handler
answers in the one error format, without the input, and logs only what kind of error it was.
Every server builds on it (shared/service/deadlines.py adds the read deadlines).
"""

from __future__ import annotations

import logging
import secrets

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from shared.web.errors import ApiError, default_message
from shared.web.jsoncodec import CONTENT_TYPE, dumps_bytes
from shared.web.middleware import REQUEST_ID_HEADER

log = logging.getLogger(__name__)


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
        if isinstance(exc, HttpProcessingError):
            # The parser's message quotes the input: the kind of error is all that is logged.
            log.info("malformed request refused", extra={"error": type(exc).__name__})
        else:
            log.error("error handling request", exc_info=exc)
        if request.writer.output_size > 0:
            # Part of an answer went out: the connection can only be dropped.
            raise ConnectionError("the response had begun; no error answer is possible")
        error = ApiError(protocol_error_message(status, exc))
        response = web.Response(
            status=status,
            body=dumps_bytes(error.body()),
            headers={"Content-Type": CONTENT_TYPE, REQUEST_ID_HEADER: secrets.token_hex(16)},
        )
        response.force_close()
        return response
