"""Path segments of chat_service's URLs: ids that name nothing are 404, never 400."""

from __future__ import annotations

from aiohttp import web

from shared.web.errors import NotFound

MAX_ID = 2**63 - 1


def id_of(request: web.Request, name: str, what: str) -> int:
    """A numeric path segment; anything else names nothing that exists (404)."""
    raw = request.match_info[name]
    if raw.isdigit() and 0 < int(raw) <= MAX_ID:
        return int(raw)
    raise NotFound(f"{what} not found")


def chat_id_of(request: web.Request) -> int:
    return id_of(request, "chat_id", "chat")


def message_id_of(request: web.Request) -> int:
    return id_of(request, "message_id", "message")
