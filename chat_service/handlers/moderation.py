"""HTTP handlers of reports, and of a user's standing (bans, send budget, devices)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, request_schema, response_schema

from chat_service.keys import MESSAGES, MODERATION
from chat_service.schemas import ReportEnvelopeOut, ReportIn, StatusEnvelopeOut
from shared.web.identity import require_user
from shared.web.jsoncodec import json_response
from shared.web.openapi import errors
from shared.web.schemas import TOKEN_AUTH


@docs(
    tags=["moderation"],
    summary="Report a user; reports from several people ban them from sending for a while",
    security=TOKEN_AUTH,
    responses=errors(409),  # already reported within the ban period
)
@request_schema(ReportIn)
@response_schema(ReportEnvelopeOut, 201)
async def report_user(request: web.Request) -> web.Response:
    report = await request.app[MODERATION].report(
        require_user(request), request.match_info["username"], request["data"]["reason"]
    )
    return json_response({"report": report}, status=201)


@docs(
    tags=["moderation"],
    summary="My bans, my send budget in the general chat, my devices and my unread chats",
    security=TOKEN_AUTH,
)
@response_schema(StatusEnvelopeOut, 200)
async def chat_status(request: web.Request) -> web.Response:
    status = await request.app[MESSAGES].status(require_user(request))
    return json_response({"status": status})
