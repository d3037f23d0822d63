"""HTTP handlers of messages: history, sending, edits, tombstones, read markers, unread."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from chat_service.handlers.paths import chat_id_of, message_id_of
from chat_service.keys import IDEMPOTENCY, MESSAGES
from chat_service.schemas.messages import (
    HistoryQuery,
    MessageEditEnvelope,
    MessageEnvelopeOut,
    MessagesOut,
    NewMessageEnvelope,
    ReadEnvelopeOut,
    ReadIn,
    UnreadOut,
    UnreadQuery,
)
from chat_service.schemas.moderation import ModerationReasonQuery
from shared.web.idempotency import IDEMPOTENCY_KEY, Seal, enveloped
from shared.web.identity import require_user
from shared.web.jsoncodec import json_response
from shared.web.schemas import TOKEN_AUTH


@docs(
    tags=["messages"],
    summary="History, oldest to newest within the page: the last messages by default",
    security=TOKEN_AUTH,
)
@querystring_schema(HistoryQuery)
@response_schema(MessagesOut, 200)
async def list_messages(request: web.Request) -> web.Response:
    messages = await request.app[MESSAGES].history(
        require_user(request), chat_id_of(request), request["querystring"]
    )
    return json_response({"messages": messages})


@docs(tags=["messages"], summary="Send a message", security=TOKEN_AUTH, parameters=IDEMPOTENCY_KEY)
@request_schema(NewMessageEnvelope)
@response_schema(MessageEnvelopeOut, 201)
async def send_message(request: web.Request) -> web.Response:
    caller = require_user(request)
    chat_id = chat_id_of(request)
    fields = request["data"]["message"]

    async def produce(seal: Seal) -> tuple[int, dict[str, Any]]:
        messages = request.app[MESSAGES]
        message = await messages.send(caller, chat_id, fields, enveloped(seal, "message"))
        return 201, {"message": message}

    return await request.app[IDEMPOTENCY].run(request, caller.id, produce)


@docs(tags=["messages"], summary="Edit my message", security=TOKEN_AUTH)
@request_schema(MessageEditEnvelope)
@response_schema(MessageEnvelopeOut, 200)
async def edit_message(request: web.Request) -> web.Response:
    message = await request.app[MESSAGES].edit(
        require_user(request),
        chat_id_of(request),
        message_id_of(request),
        request["data"]["message"]["body"],
    )
    return json_response({"message": message})


@docs(
    tags=["messages"],
    summary="Delete a message (its author, the chat's owner, or a moderator in the general "
    "chat, with an optional reason that the audit log keeps); history keeps a tombstone",
    security=TOKEN_AUTH,
)
@querystring_schema(ModerationReasonQuery)
async def delete_message(request: web.Request) -> web.Response:
    await request.app[MESSAGES].delete(
        require_user(request),
        chat_id_of(request),
        message_id_of(request),
        request["querystring"].get("reason"),
    )
    return web.Response(status=204)


@docs(
    tags=["messages"],
    summary="Set my read marker (it never moves back); every device of mine is told",
    security=TOKEN_AUTH,
)
@request_schema(ReadIn)
@response_schema(ReadEnvelopeOut, 200)
async def mark_read(request: web.Request) -> web.Response:
    marker = await request.app[MESSAGES].mark_read(
        require_user(request), chat_id_of(request), request["data"]["seq"]
    )
    return json_response({"read": marker})


@docs(
    tags=["messages"],
    summary="Per chat, the messages after my read marker",
    security=TOKEN_AUTH,
)
@querystring_schema(UnreadQuery)
@response_schema(UnreadOut, 200)
async def list_unread(request: web.Request) -> web.Response:
    messages = request.app[MESSAGES]
    limit = request["querystring"].get("limit") or messages.settings.unread_limit
    return json_response({"chats": await messages.unread(require_user(request), limit)})
