"""HTTP handlers of chats and their members."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from chat_service.handlers.paths import chat_id_of
from chat_service.keys import CHATS, IDEMPOTENCY
from chat_service.schemas.chats import (
    ChatChangesEnvelope,
    ChatDetailEnvelopeOut,
    ChatEnvelopeOut,
    ChatsOut,
    ChatsQuery,
    MemberEnvelopeOut,
    MemberIn,
    NewChatEnvelope,
)
from shared.web.idempotency import IDEMPOTENCY_KEY, Seal, enveloped
from shared.web.identity import require_user
from shared.web.jsoncodec import json_response
from shared.web.openapi import errors
from shared.web.schemas import TOKEN_AUTH


@docs(tags=["chats"], summary="My chats, most recent activity first", security=TOKEN_AUTH)
@querystring_schema(ChatsQuery)
@response_schema(ChatsOut, 200)
async def list_chats(request: web.Request) -> web.Response:
    query = request["querystring"]
    result = await request.app[CHATS].list_mine(
        require_user(request), query["limit"], query["offset"]
    )
    return json_response(result)


@docs(
    tags=["chats"],
    summary="Create a group chat (201), or open a direct chat (201 new, 200 existing)",
    security=TOKEN_AUTH,
    parameters=IDEMPOTENCY_KEY,
    responses=errors(404),  # a direct chat with nobody of that name
)
@request_schema(NewChatEnvelope)
@response_schema(ChatEnvelopeOut, 201, description="A new chat")
@response_schema(ChatEnvelopeOut, 200, description="The direct chat that already existed")
async def create_chat(request: web.Request) -> web.Response:
    caller = require_user(request)
    fields = request["data"]["chat"]

    async def produce(seal: Seal) -> tuple[int, dict[str, Any]]:
        chats = request.app[CHATS]
        if fields["type"] == "direct":
            status, chat = await chats.open_direct(
                caller, fields["username"], enveloped(seal, "chat")
            )
            return status, {"chat": chat}
        return 201, {"chat": await chats.create_group(caller, fields, enveloped(seal, "chat"))}

    return await request.app[IDEMPOTENCY].run(request, caller.id, produce)


@docs(tags=["chats"], summary="One chat with its members and their presence", security=TOKEN_AUTH)
@response_schema(ChatDetailEnvelopeOut, 200)
async def get_chat(request: web.Request) -> web.Response:
    chat = await request.app[CHATS].get(require_user(request), chat_id_of(request))
    return json_response({"chat": chat})


@docs(tags=["chats"], summary="Change a group chat (owner)", security=TOKEN_AUTH)
@request_schema(ChatChangesEnvelope)
@response_schema(ChatEnvelopeOut, 200)
async def update_chat(request: web.Request) -> web.Response:
    chat = await request.app[CHATS].update(
        require_user(request), chat_id_of(request), request["data"]["chat"]
    )
    return json_response({"chat": chat})


@docs(tags=["chats"], summary="Delete a group chat (owner)", security=TOKEN_AUTH)
async def delete_chat(request: web.Request) -> web.Response:
    await request.app[CHATS].delete(require_user(request), chat_id_of(request))
    return web.Response(status=204)


@docs(
    tags=["chats"],
    summary="Add a member (owner): 201 when added, 200 when already a member",
    security=TOKEN_AUTH,
)
@request_schema(MemberIn)
@response_schema(MemberEnvelopeOut, 201)
@response_schema(MemberEnvelopeOut, 200)
async def add_member(request: web.Request) -> web.Response:
    status, member = await request.app[CHATS].add_member(
        require_user(request), chat_id_of(request), request["data"]["username"]
    )
    return json_response({"member": member}, status=status)


@docs(
    tags=["chats"],
    summary="Remove a member (owner), or leave (your own name)",
    security=TOKEN_AUTH,
)
async def remove_member(request: web.Request) -> web.Response:
    await request.app[CHATS].remove_member(
        require_user(request), chat_id_of(request), request.match_info["username"]
    )
    return web.Response(status=204)
