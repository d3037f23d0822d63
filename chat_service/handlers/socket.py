"""The HTTP handler of the websocket (the session itself is chat_service/live/session.py)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs

from chat_service.keys import SESSIONS
from shared.web.errors import BadRequest
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
    # RFC 6455's version 13, the one the document names; aiohttp alone would also take the
    # drafts' 7 and 8. RFC 6455 4.4: the refusal names the version understood.
    if request.headers.get("Sec-WebSocket-Version") != "13":
        raise BadRequest(
            "the websocket handshake must be of version 13",
            headers={"Sec-WebSocket-Version": "13"},
        )
    return await request.app[SESSIONS].serve(request, caller)
