"""HTTP handlers of invite links and join requests."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, request_schema, response_schema

from chat_service.handlers.paths import chat_id_of, id_of
from chat_service.keys import INVITES
from chat_service.schemas.chats import (
    ChatEnvelopeOut,
    InviteEnvelope,
    InviteEnvelopeOut,
    InvitesOut,
    JoinRequestEnvelopeOut,
    JoinRequestsOut,
)
from shared.web.identity import require_user
from shared.web.jsoncodec import json_response
from shared.web.openapi import errors
from shared.web.schemas import TOKEN_AUTH


@docs(tags=["invites"], summary="Create an invite link (owner)", security=TOKEN_AUTH)
@request_schema(InviteEnvelope)
@response_schema(InviteEnvelopeOut, 201)
async def create_invite(request: web.Request) -> web.Response:
    data = request.get("data") or {}
    invite = await request.app[INVITES].create_invite(
        require_user(request),
        chat_id_of(request),
        (data.get("invite") or {}).get("expiresInSeconds"),
    )
    return json_response({"invite": invite}, status=201)


@docs(
    tags=["invites"],
    summary="Active invite links (owner)",
    security=TOKEN_AUTH,
    responses=errors(403),  # a member who is not the owner
)
@response_schema(InvitesOut, 200)
async def list_invites(request: web.Request) -> web.Response:
    invites = await request.app[INVITES].invites(require_user(request), chat_id_of(request))
    return json_response({"invites": invites})


@docs(
    tags=["invites"],
    summary="Revoke an invite link by its code or listed id (owner); joining with it is 404",
    security=TOKEN_AUTH,
    responses=errors(403),  # a member who is not the owner
)
async def revoke_invite(request: web.Request) -> web.Response:
    await request.app[INVITES].revoke(
        require_user(request), chat_id_of(request), request.match_info["code"]
    )
    return web.Response(status=204)


@docs(
    tags=["invites"],
    summary="Join by invite code: 200 with the chat (public), 202 with a join request (private)",
    security=TOKEN_AUTH,
)
@response_schema(ChatEnvelopeOut, 200)
@response_schema(JoinRequestEnvelopeOut, 202)
async def join_by_code(request: web.Request) -> web.Response:
    status, body = await request.app[INVITES].join(
        require_user(request), request.match_info["code"]
    )
    return json_response(body, status=status)


@docs(tags=["invites"], summary="Pending join requests (owner)", security=TOKEN_AUTH)
@response_schema(JoinRequestsOut, 200)
async def list_join_requests(request: web.Request) -> web.Response:
    requests = await request.app[INVITES].join_requests(require_user(request), chat_id_of(request))
    return json_response({"joinRequests": requests})


async def _decide(request: web.Request, approve: bool) -> web.Response:
    decided = await request.app[INVITES].decide(
        require_user(request),
        chat_id_of(request),
        id_of(request, "request_id", "join request"),
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
