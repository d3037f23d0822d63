"""HTTP handlers of notifications: the list, the unread count, marking them read."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from chat_service.keys import NOTIFICATIONS
from chat_service.schemas.notifications import (
    NotificationsOut,
    NotificationsQuery,
    ReadNotificationsIn,
    UnreadNotificationsOut,
)
from shared.web.identity import require_user
from shared.web.jsoncodec import json_response
from shared.web.schemas import TOKEN_AUTH


@docs(
    tags=["notifications"],
    summary="My notifications, newest first, with the unread count",
    description="Pages by `before` (the `nextCursor` of the previous page). The socket "
    "(`/api/chat/ws`) brings new ones as `notification.created`, and `notification.read` "
    "when a device marks them read.",
    security=TOKEN_AUTH,
)
@querystring_schema(NotificationsQuery)
@response_schema(NotificationsOut, 200)
async def list_notifications(request: web.Request) -> web.Response:
    query = request["querystring"]
    page = await request.app[NOTIFICATIONS].page(
        require_user(request), query.get("before"), query["limit"], query.get("types")
    )
    return json_response(page)


@docs(
    tags=["notifications"], summary="How many of my notifications are unread", security=TOKEN_AUTH
)
@response_schema(UnreadNotificationsOut, 200)
async def unread_count(request: web.Request) -> web.Response:
    count = await request.app[NOTIFICATIONS].unread_count(require_user(request))
    return json_response({"unreadCount": count})


@docs(
    tags=["notifications"],
    summary="Mark my notifications read: every one up to an id, or a list of ids",
    description="Every device of mine hears `notification.read` with the new unread count.",
    security=TOKEN_AUTH,
)
@request_schema(ReadNotificationsIn)
@response_schema(UnreadNotificationsOut, 200)
async def mark_read(request: web.Request) -> web.Response:
    data = request["data"]
    count = await request.app[NOTIFICATIONS].mark_read(
        require_user(request), data.get("upTo"), data.get("ids")
    )
    return json_response({"unreadCount": count})
