"""HTTP handlers of comments on messages."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from chat_service.handlers.paths import chat_id_of, message_id_of
from chat_service.keys import MESSAGES
from chat_service.schemas.messages import (
    CommentEnvelope,
    CommentEnvelopeOut,
    CommentsOut,
    CommentsQuery,
)
from shared.web.identity import require_user
from shared.web.jsoncodec import json_response
from shared.web.schemas import TOKEN_AUTH


@docs(tags=["comments"], summary="The thread under a message, oldest first", security=TOKEN_AUTH)
@querystring_schema(CommentsQuery)
@response_schema(CommentsOut, 200)
async def list_comments(request: web.Request) -> web.Response:
    query = request["querystring"]
    comments = await request.app[MESSAGES].comments(
        require_user(request),
        chat_id_of(request),
        message_id_of(request),
        query["limit"],
        query["offset"],
    )
    return json_response({"comments": comments})


@docs(tags=["comments"], summary="Comment on a message", security=TOKEN_AUTH)
@request_schema(CommentEnvelope)
@response_schema(CommentEnvelopeOut, 201)
async def add_comment(request: web.Request) -> web.Response:
    comment = await request.app[MESSAGES].comment(
        require_user(request),
        chat_id_of(request),
        message_id_of(request),
        request["data"]["comment"]["body"],
    )
    return json_response({"comment": comment}, status=201)
