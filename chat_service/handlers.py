"""HTTP handlers of chat_service: parse with a schema, call the domain, answer."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from chat_service.answers import (
    ChatDetailEnvelopeOut,
    ChatEnvelopeOut,
    ChatsOut,
    InviteEnvelopeOut,
    JoinRequestEnvelopeOut,
    JoinRequestsOut,
    MemberEnvelopeOut,
    MessageEnvelopeOut,
    MessagesOut,
    ReadEnvelopeOut,
    UnreadOut,
)
from chat_service.keys import CHATS, IDEMPOTENCY, MESSAGES
from chat_service.schemas import (
    ChatChangesEnvelope,
    ChatsQuery,
    HistoryQuery,
    InviteEnvelope,
    MemberIn,
    MessageEditEnvelope,
    NewChatEnvelope,
    NewMessageEnvelope,
    ReadIn,
    UnreadQuery,
)
from shared.transport.jsoncodec import json_response
from shared.web.errors import NotFound
from shared.web.idempotency import IDEMPOTENCY_KEY, Seal, enveloped
from shared.web.identity import require_user
from shared.web.openapi import errors
from shared.web.schemas import TOKEN_AUTH

MAX_ID = 2**63 - 1


def _id(request: web.Request, name: str, what: str) -> int:
    """A numeric path segment; anything else names nothing that exists (404)."""
    raw = request.match_info[name]
    if raw.isdigit() and 0 < int(raw) <= MAX_ID:
        return int(raw)
    raise NotFound(f"{what} not found")


def chat_id_of(request: web.Request) -> int:
    return _id(request, "chat_id", "chat")


def message_id_of(request: web.Request) -> int:
    return _id(request, "message_id", "message")


# Chats.


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
@response_schema(ChatEnvelopeOut, 201)
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


# Invite links and join requests.


@docs(tags=["invites"], summary="Create an invite link (owner)", security=TOKEN_AUTH)
@request_schema(InviteEnvelope)
@response_schema(InviteEnvelopeOut, 201)
async def create_invite(request: web.Request) -> web.Response:
    data = request.get("data") or {}
    invite = await request.app[CHATS].create_invite(
        require_user(request),
        chat_id_of(request),
        (data.get("invite") or {}).get("expiresInSeconds"),
    )
    return json_response({"invite": invite}, status=201)


@docs(
    tags=["invites"],
    summary="Join by invite code: 200 with the chat (public), 202 with a join request (private)",
    security=TOKEN_AUTH,
)
@response_schema(ChatEnvelopeOut, 200)
@response_schema(JoinRequestEnvelopeOut, 202)
async def join_by_code(request: web.Request) -> web.Response:
    status, body = await request.app[CHATS].join(require_user(request), request.match_info["code"])
    return json_response(body, status=status)


@docs(tags=["invites"], summary="Pending join requests (owner)", security=TOKEN_AUTH)
@response_schema(JoinRequestsOut, 200)
async def list_join_requests(request: web.Request) -> web.Response:
    requests = await request.app[CHATS].join_requests(require_user(request), chat_id_of(request))
    return json_response({"joinRequests": requests})


async def _decide(request: web.Request, approve: bool) -> web.Response:
    decided = await request.app[CHATS].decide(
        require_user(request),
        chat_id_of(request),
        _id(request, "request_id", "join request"),
        approve,
    )
    return json_response({"joinRequest": decided})


@docs(tags=["invites"], summary="Approve a join request (owner)", security=TOKEN_AUTH)
@response_schema(JoinRequestEnvelopeOut, 200)
async def approve_join_request(request: web.Request) -> web.Response:
    return await _decide(request, True)


@docs(tags=["invites"], summary="Reject a join request (owner)", security=TOKEN_AUTH)
@response_schema(JoinRequestEnvelopeOut, 200)
async def reject_join_request(request: web.Request) -> web.Response:
    return await _decide(request, False)


# Messages.


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
    summary="Delete a message (its author or the chat's owner); history keeps a tombstone",
    security=TOKEN_AUTH,
)
async def delete_message(request: web.Request) -> web.Response:
    await request.app[MESSAGES].delete(
        require_user(request), chat_id_of(request), message_id_of(request)
    )
    return web.Response(status=204)


# Read markers.


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
