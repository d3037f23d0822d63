"""JSON through orjson: several times faster than the standard library on our payloads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def dumps_bytes(value: Any) -> bytes:
    return orjson.dumps(value)


loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError


CONTENT_TYPE = "application/json; charset=utf-8"


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """web.json_response, encoded by orjson."""
    response = web.Response(body=orjson.dumps(data), status=status, headers=headers)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response
