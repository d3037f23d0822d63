"""HTTP handlers of scheduled messages."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, response_schema

from chat_service.handlers.paths import chat_id_of, message_id_of
from chat_service.keys import MESSAGES
from chat_service.schemas.messages import MessagesOut
from shared.web.identity import require_user
from shared.web.jsoncodec import json_response
from shared.web.schemas import TOKEN_AUTH


@docs(tags=["messages"], summary="My scheduled messages not sent yet", security=TOKEN_AUTH)
@response_schema(MessagesOut, 200)
async def list_scheduled(request: web.Request) -> web.Response:
    messages = await request.app[MESSAGES].scheduled(require_user(request), chat_id_of(request))
    return json_response({"messages": messages})


@docs(
    tags=["messages"],
    summary="Cancel my scheduled message (404 once it was sent)",
    security=TOKEN_AUTH,
)
async def cancel_scheduled(request: web.Request) -> web.Response:
    await request.app[MESSAGES].cancel(
        require_user(request), chat_id_of(request), message_id_of(request)
    )
    return web.Response(status=204)
