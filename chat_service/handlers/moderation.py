"""HTTP handlers of reports, of a user's standing (bans, send budget, devices), and of the
moderators' routes."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from chat_service.handlers.paths import id_of
from chat_service.keys import MESSAGES, MODERATION, MODERATORS
from chat_service.schemas.moderation import (
    BanEnvelopeOut,
    BansOut,
    LogOut,
    NewBanEnvelope,
    QueuedReportEnvelopeOut,
    ReportEnvelopeOut,
    ReportIn,
    ReportsOut,
    ReportsQuery,
    ResolveIn,
    RoleEnvelopeOut,
    RoleIn,
    StatusEnvelopeOut,
)
from shared.web.identity import require_user
from shared.web.jsoncodec import json_response
from shared.web.openapi import errors
from shared.web.schemas import TOKEN_AUTH, PageQuery


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


# Moderators' routes: 403 for everyone else (admins only for roles).


def moderators_route(summary: str, *statuses: int) -> Callable[[Handler], Handler]:
    """The OpenAPI of a moderators' route: its tag, the token, and 403 besides `statuses`."""
    return docs(
        tags=["moderation"],
        summary=summary,
        security=TOKEN_AUTH,
        responses=errors(403, *statuses),
    )


@moderators_route("Reports, newest first (moderators)")
@querystring_schema(ReportsQuery)
@response_schema(ReportsOut, 200)
async def list_reports(request: web.Request) -> web.Response:
    query = request["querystring"]
    reports, count = await request.app[MODERATORS].reports(
        require_user(request), query.get("status"), query["limit"], query["offset"]
    )
    return json_response({"reports": reports, "reportsCount": count})


@moderators_route(
    "Dismiss or uphold a report (moderators); dismissing the reports behind an "
    "automatic ban lifts it",
    409,  # already resolved
)
@request_schema(ResolveIn)
@response_schema(QueuedReportEnvelopeOut, 200)
async def resolve_report(request: web.Request) -> web.Response:
    data = request["data"]
    report = await request.app[MODERATORS].resolve(
        require_user(request),
        id_of(request, "report_id", "report"),
        data["action"],
        data.get("note"),
    )
    return json_response({"report": report})


@moderators_route("Active bans (moderators)")
@response_schema(BansOut, 200)
async def list_bans(request: web.Request) -> web.Response:
    bans = await request.app[MODERATORS].bans(require_user(request))
    return json_response({"bans": bans})


@moderators_route("Ban a user by hand (moderators); their open sockets get moderation.banned")
@request_schema(NewBanEnvelope)
@response_schema(BanEnvelopeOut, 201)
async def create_ban(request: web.Request) -> web.Response:
    fields = request["data"]["ban"]
    ban = await request.app[MODERATORS].ban(
        require_user(request), fields["username"], fields["seconds"], fields["reason"]
    )
    return json_response({"ban": ban}, status=201)


@moderators_route("Lift a user's bans (moderators)")
async def lift_ban(request: web.Request) -> web.Response:
    await request.app[MODERATORS].lift(require_user(request), request.match_info["username"])
    return web.Response(status=204)


@moderators_route("Every moderator action of every service, newest first (moderators)")
@querystring_schema(PageQuery)
@response_schema(LogOut, 200)
async def moderation_log(request: web.Request) -> web.Response:
    query = request["querystring"]
    entries = await request.app[MODERATORS].log(
        require_user(request), query["limit"], query["offset"]
    )
    return json_response({"entries": entries})


@moderators_route("Set a user's role (admins); auth stores it and ends the user's sessions")
@request_schema(RoleIn)
@response_schema(RoleEnvelopeOut, 200)
async def set_role(request: web.Request) -> web.Response:
    user = await request.app[MODERATORS].set_role(
        require_user(request), request.match_info["username"], request["data"]["role"]
    )
    return json_response({"user": user})
