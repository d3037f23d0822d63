"""`Idempotency-Key` for POST routes: a repeated request answers the first result.

The first request with a key claims it in Redis (SET NX) and stores its answer there for the
configured time; a repeat gets that answer, and a repeat that arrives while the first is
still running is told to retry. Keys are per user and per route. Without Redis the request
runs normally (the key is then not honoured) rather than failing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from shared.transport.jsoncodec import json_response
from shared.web.errors import BadRequest, Conflict

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
_VALID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_PENDING = "pending"

# The OpenAPI parameter of routes that honour the header.
IDEMPOTENCY_KEY: list[dict[str, Any]] = [
    {
        "in": "header",
        "name": HEADER,
        "schema": {"type": "string", "pattern": _VALID.pattern},
        "description": "Repeat a request safely: the same key answers the first result.",
    }
]


class Idempotency:
    def __init__(self, redis: aioredis.Redis, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl

    async def run(
        self,
        request: web.Request,
        scope: str,
        user_id: int,
        produce: Callable[[], Awaitable[tuple[int, Any]]],
    ) -> web.Response:
        """Answers `produce()` as JSON, once per key; `produce` returns (status, body)."""
        key = request.headers.get(HEADER)
        if key is None:
            status, body = await produce()
            return json_response(body, status=status)
        if not _VALID.match(key):
            raise BadRequest(f"{HEADER} must be 1 to 128 letters, digits or . _ : -")
        redis_key = f"idem:{user_id}:{scope}:{key}"
        try:
            claimed = await self.redis.set(redis_key, _PENDING, nx=True, ex=self.ttl)
            if not claimed:
                stored = await self.redis.get(redis_key)
                if stored is not None and stored != _PENDING:
                    first = json.loads(stored)
                    return json_response(
                        first["body"], status=first["status"], headers={"Idempotent-Replay": "true"}
                    )
                if stored == _PENDING:
                    raise Conflict("a request with this Idempotency-Key is still in progress")
        except (aioredis.RedisError, OSError) as exc:
            log.warning(
                "idempotency unavailable; request runs once more", extra={"error": repr(exc)}
            )
            status, body = await produce()
            return json_response(body, status=status)
        try:
            status, body = await produce()
        except BaseException:
            await self._forget(redis_key)
            raise
        try:
            await self.redis.set(
                redis_key, json.dumps({"status": status, "body": body}), ex=self.ttl
            )
        except (aioredis.RedisError, OSError) as exc:
            log.warning("idempotent answer not stored", extra={"error": repr(exc)})
        return json_response(body, status=status)

    async def _forget(self, redis_key: str) -> None:
        with contextlib.suppress(aioredis.RedisError, OSError):
            await self.redis.delete(redis_key)
