"""Our exceptions and the one middleware that turns every error into the API.md format."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import asyncpg
import marshmallow
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from shared.web.jsoncodec import json_response

log = logging.getLogger(__name__)

FieldErrors = dict[str, list[str]]


class ApiError(Exception):
    """An error the client should see: a status, readable sentences and per-field messages."""

    status = 400

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: FieldErrors | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.fields: FieldErrors = fields or {}
        self.messages = [message] if message else []
        if not self.messages:
            self.messages = [
                f"{name} {text}" for name, texts in self.fields.items() for text in texts
            ]
        self.headers = dict(headers or {})
        super().__init__("; ".join(self.messages))

    def body(self) -> dict[str, Any]:
        errors: dict[str, list[str]] = {"body": self.messages or [default_message(self.status)]}
        # A field named "body" (a message's text) must not replace the sentences: they name
        # it already ("body must not be blank").
        errors.update({name: texts for name, texts in self.fields.items() if name != "body"})
        return {"errors": errors}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class RequestTimeout(ApiError):
    """The client stopped sending its request before it was complete."""

    status = 408


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class ValidationFailed(ApiError):
    status = 422


class TooManyRequests(ApiError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})


class MethodNotAllowed(ApiError):
    status = 405

    def __init__(self, message: str, allowed: Iterable[str]) -> None:
        # RFC 9110 15.5.6: a 405 names the methods the resource does support.
        super().__init__(message, headers={"Allow": ", ".join(sorted(allowed))})


class BadGateway(ApiError):
    status = 502


class ServiceUnavailable(ApiError):
    status = 503


class GatewayTimeout(ApiError):
    status = 504


_DEFAULT_MESSAGES = {
    400: "the request is malformed",
    401: "authentication is required",
    403: "you are not allowed to do this",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    413: "the request body is too large",
    415: "unsupported media type",
    422: "validation failed",
    429: "too many requests",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


def default_message(status: int) -> str:
    return _DEFAULT_MESSAGES.get(status, "request failed")


def error_response(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> web.Response:
    return json_response(body, status=status, headers=headers)


# Marshmallow's stock messages, reworded to read after a field name ("email is required").
_MARSHMALLOW_WORDING = {
    "Missing data for required field.": "is required",
    "Field may not be null.": "may not be null",
    "Unknown field.": "is not a known field",
    "Not a valid string.": "must be a string",
    "Not a valid integer.": "must be an integer",
    "Not a valid boolean.": "must be true or false",
    "Not a valid list.": "must be a list",
    "Invalid input type.": "has the wrong type",
    "Not a valid email address.": "is not a valid e-mail address",
    "Not a valid URL.": "is not a valid URL",
    "Not a valid datetime.": "is not a valid date and time",
    "Not a valid number.": "must be a number",
    "Invalid value.": "is invalid",
}

_LOCATIONS = frozenset({"json", "query", "querystring", "match_info", "path", "headers", "form"})


def _reword(message: str) -> str:
    if message in _MARSHMALLOW_WORDING:
        return _MARSHMALLOW_WORDING[message]
    text = message.rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def flatten_messages(messages: Any) -> FieldErrors:
    """Marshmallow's nested messages as `{"dotted.field": ["message", ...]}`.

    The request location (`json`, `query`) and a single envelope key (`user`, `article`)
    are dropped, so a form sees `{"email": [...]}` rather than `{"json": {"user": {"email"...}}}`.
    """
    flat: FieldErrors = {}

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, [*path, str(key)])
        elif isinstance(node, list | tuple) and node and all(isinstance(m, str) for m in node):
            name = ".".join(path) or "body"
            flat.setdefault(name, []).extend(_reword(m) for m in node)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item, path)
        else:
            flat.setdefault(".".join(path) or "body", []).append(_reword(str(node)))

    if isinstance(messages, Mapping) and len(messages) == 1:
        (location, inner), *_ = messages.items()
        if location in _LOCATIONS:
            messages = inner
    if isinstance(messages, Mapping) and len(messages) == 1:
        (_envelope, inner), *_ = messages.items()
        if isinstance(inner, Mapping):
            messages = inner
    walk(messages, [])
    return flat


def validation_error_callback(
    error: marshmallow.ValidationError, *_args: Any, **_kwargs: Any
) -> NoReturn:
    """webargs' error hook: a failed schema becomes our 422, shaped in one place."""
    raise ValidationFailed(fields=flatten_messages(error.messages))


def _from_http_exception(exc: web.HTTPException) -> ApiError:
    if exc.status == 400 and exc.text and "Invalid JSON" in exc.text:
        return BadRequest("the request body is not valid JSON")
    if exc.status == 413:
        return PayloadTooLarge("the request body is too large")
    error = ApiError(default_message(exc.status))
    error.status = exc.status
    return error


DATABASE_RETRY_AFTER = 1

# Raised while PostgreSQL restarts, shuts down, refuses connections or drops them mid-query.
_DATABASE_DOWN = (
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError
    asyncpg.CannotConnectNowError,  # "the database system is starting up / shutting down"
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether the error is PostgreSQL being away (restarting, shutting down, refusing or
    dropping connections): a passing condition, never a defect of ours."""
    if isinstance(exc, _DATABASE_DOWN):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        # The one InterfaceError a correct program meets: a connection the server closed.
        return "connection is closed" in str(exc) or "connection was closed" in str(exc)
    if isinstance(exc, asyncpg.InternalClientError):
        # A pooled connection whose server went away mid-operation can be left in a state
        # that refuses the next query ("cannot switch to state 12; another operation (2) is
        # in progress"): seen in the PostgreSQL restart drill; the pool replaces it.
        return "cannot switch to state" in str(exc)
    # The pool connecting anew while the server is down (refused, unreachable): an OSError
    # raised inside asyncpg, told apart from a file error of a handler by where it arose.
    return isinstance(exc, OSError) and _raised_in(exc, "asyncpg")


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _raised_in(exc: BaseException, package: str) -> bool:
    """Whether the exception arose in code of this module or package."""
    traceback = exc.__traceback__
    while traceback is not None:
        if str(traceback.tb_frame.f_globals.get("__name__", "")).startswith(package):
            return True
        traceback = traceback.tb_next
    return False


def response_for_error(request: web.Request, exc: Exception) -> web.Response:
    """The API-format answer for what a handler raised; redirects (HTTP 3xx) are re-raised."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.body(), exc.headers)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        api_error = _from_http_exception(exc)
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return error_response(exc.status, api_error.body(), headers)
    if isinstance(exc, HttpProcessingError):
        # aiohttp's parsers raise these from inside a handler too: the headers of a multipart
        # part that are not valid HTTP. The message quotes the input; it is not passed on.
        return error_response(400, BadRequest("the request body is not valid multipart").body())
    if isinstance(exc, json.JSONDecodeError):
        return error_response(400, BadRequest("the request body is not valid JSON").body())
    if isinstance(exc, LookupError | ValueError) and _raised_in(exc, "aiohttp.multipart"):
        # aiohttp's multipart reader refuses a body it cannot split with these: no boundary
        # in the Content-Type (KeyError), one too long, none found in the body (ValueError).
        return error_response(400, BadRequest("the request body is not valid multipart").body())
    if database_unavailable(exc):
        # A restarting or overloaded PostgreSQL is a passing condition, not a defect: the
        # client may retry, and the pool replaces the broken connections meanwhile.
        log.warning("database unavailable", extra={"error": type(exc).__name__})
        return error_response(
            503,
            ServiceUnavailable("the database is unavailable, try again").body(),
            {"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    if isinstance(exc, ConnectionError) and _client_gone(request):
        # The client closed the connection (a dropped download, a closed tab): nothing to
        # answer, nobody to page.
        log.info("client went away", extra={"error": type(exc).__name__})
        return error_response(503, ServiceUnavailable("the client went away").body())
    if isinstance(exc, ConnectionResetError | TimeoutError):
        # The client went away or an upstream timed out; both are logged, neither leaks details.
        log.warning("request aborted", extra={"error": type(exc).__name__})
        return error_response(503, ServiceUnavailable("the service is busy, try again").body())
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"path": request.path, "method": request.method},
    )
    return error_response(500, ApiError("internal server error").body())


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as exc:
        return response_for_error(request, exc)
