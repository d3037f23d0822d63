"""Request ids, Prometheus metrics and input checks: the middlewares of every service."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any, NoReturn

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from shared.logs import request_id_var
from shared.web.errors import BadRequest, ValidationFailed
from shared.web.jsoncodec import JSONDecodeError, loads
from shared.web.schemas import MAX_BIGINT

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)

# A client-sent id is echoed only when it is short and printable, so it cannot forge log lines.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(request: web.Request) -> str:
    """The client's request id when it is acceptable, else a new one."""
    sent = request.headers.get(REQUEST_ID_HEADER)
    if sent and _VALID_REQUEST_ID.fullmatch(sent):
        return sent
    return secrets.token_hex(16)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request_id_of(request)
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    try:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers[REQUEST_ID_HEADER] = request_id
            raise
        if not response.prepared:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response
    finally:
        request_id_var.reset(token)


class Metrics:
    """One registry per app, so that several apps in one process (tests) never collide."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests handled",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["service", "method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.events_published = Counter(
            "events_published_total",
            "Events relayed to Redis",
            ["producer"],
            registry=self.registry,
        )
        self.events_consumed = Counter(
            "events_consumed_total", "Events handled", ["stream", "type"], registry=self.registry
        )
        self.events_failed = Counter(
            "events_failed_total",
            "Event handling failures",
            ["stream", "type"],
            registry=self.registry,
        )
        self.events_dead_lettered = Counter(
            "events_dead_lettered_total",
            "Events moved to a dead-letter stream",
            ["stream"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "events_consumer_lag",
            "Entries not yet read by this group",
            ["stream"],
            registry=self.registry,
        )
        self.service = service
        # prometheus_client's labels() costs microseconds on every call: children are kept.
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: str, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(self.service, method, route, status),
                self.latency.labels(self.service, method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)


def _route_name(request: web.Request) -> str:
    # The route's pattern, never the concrete path: ids in paths would explode the label set.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    metrics = request.app[METRICS]
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.observe(
            request.method, _route_name(request), str(status), time.perf_counter() - started
        )


async def metrics_handler(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _expects_json(request: web.Request) -> bool:
    schemas = getattr(request.match_info.handler, "__schemas__", None) or []
    return any(getattr(schema, "location", None) == "json" for schema in schemas)


# Deeper than any body we accept (an article with ingredients is 4 levels): refused before
# marshmallow, whose nested loading recurses, and before any recursive walk of ours.
MAX_JSON_DEPTH = 32
_NUL = "\x00"
_NUL_MESSAGE = "must not contain a NUL character"


def _field_path(path: tuple[str, ...], enveloped: bool) -> str:
    # Named as flatten_messages names marshmallow's errors: without the envelope key.
    return ".".join(path[1:] if enveloped else path) or "body"


def check_json_value(document: Any) -> None:
    """Refuses what PostgreSQL cannot store and what would recurse too deep: NUL characters
    in strings or keys, nesting beyond MAX_JSON_DEPTH, integers beyond 64 bits."""
    # API.md's envelopes ({"article": {...}}) are named without their key; a body of one
    # plain field ({"seq": 3}) is not an envelope.
    enveloped = (
        isinstance(document, dict)
        and len(document) == 1
        and isinstance(next(iter(document.values())), dict)
    )
    stack: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _NUL in value:
                _refuse(path, enveloped, _NUL_MESSAGE)
            continue
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            # orjson reads integers beyond 64 bits as floats; no column holds either.
            if abs(value) > MAX_BIGINT:
                _refuse(path, enveloped, "is out of range")
            continue
        if len(path) >= MAX_JSON_DEPTH:
            raise ValidationFailed(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                if _NUL in key:
                    _refuse(path, enveloped, "has a key with a NUL character")
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, str(index))) for index, item in enumerate(value))


def _refuse(path: tuple[str, ...], enveloped: bool, message: str) -> NoReturn:
    raise ValidationFailed(fields={_field_path(path, enveloped): [message]})


def _check_text_parameters(request: web.Request) -> None:
    # yarl decodes %00 in paths and queries; PostgreSQL refuses it in every text value.
    for name, value in request.match_info.items():
        if _NUL in value:
            raise ValidationFailed(fields={name: [_NUL_MESSAGE]})
    for name, value in request.query.items():
        if _NUL in value or _NUL in name:
            raise ValidationFailed(fields={name.replace(_NUL, "") or "query": [_NUL_MESSAGE]})


async def _check_json_body(request: web.Request) -> None:
    if request.content_type != "application/json":
        raise BadRequest("the request body must be JSON (Content-Type: application/json)")
    # orjson refuses lone surrogates, invalid UTF-8 and nesting beyond 1024 without
    # recursing in Python; the body is cached, so webargs reads the same bytes again.
    try:
        document = loads(await request.read())
    except JSONDecodeError:
        raise BadRequest("the request body is not valid JSON") from None
    check_json_value(document)


@web.middleware
async def input_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Input every route shares: no NUL in path or query; a route that reads JSON refuses
    another content type with 400 and a body PostgreSQL or marshmallow cannot take with
    422, before any handler sees it."""
    _check_text_parameters(request)
    if request.body_exists and _expects_json(request):
        await _check_json_body(request)
    return await handler(request)
