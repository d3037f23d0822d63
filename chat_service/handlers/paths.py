"""Path segments of chat_service's URLs: ids that name nothing are 404, never 400."""

from __future__ import annotations

from aiohttp import web

from shared.web.errors import NotFound
from shared.web.schemas import path_id


def id_of(request: web.Request, name: str, what: str) -> int:
    """A numeric path segment (ASCII digits, a positive bigint); anything else, "²" or "٣"
    included, names nothing that exists (404)."""
    found = path_id(request.match_info[name])
    if found is None:
        raise NotFound(f"{what} not found")
    return found


def chat_id_of(request: web.Request) -> int:
    return id_of(request, "chat_id", "chat")


def message_id_of(request: web.Request) -> int:
    return id_of(request, "message_id", "message")
