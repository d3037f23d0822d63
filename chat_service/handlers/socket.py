"""The HTTP handler of the websocket (the session itself is chat_service/live/session.py)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs

from chat_service.keys import SESSIONS
from shared.web.identity import require_user
from shared.web.schemas import TOKEN_AUTH


@docs(
    tags=["realtime"],
    summary="The websocket of live chat events (see API.md for the events)",
    security=TOKEN_AUTH,
    responses={101: {"description": "Switching to the websocket protocol"}},
)
async def chat_socket(request: web.Request) -> web.StreamResponse:
    """GET /api/chat/ws: the gateway has checked the token and vouches for the caller."""
    caller = require_user(request)  # refused (401) before the upgrade without an identity
    return await request.app[SESSIONS].serve(request, caller)
