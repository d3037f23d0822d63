"""HTTP handlers of the rules around messages: scheduled messages, files, comments, reports
and the status of a user."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from chat_service.answers import (
    AttachmentEnvelopeOut,
    CommentEnvelopeOut,
    CommentsOut,
    MessagesOut,
    ReportEnvelopeOut,
    StatusEnvelopeOut,
)
from chat_service.attachments import content_disposition
from chat_service.handlers import chat_id_of, message_id_of
from chat_service.keys import ATTACHMENTS, MESSAGES, MODERATION
from chat_service.schemas import (
    CommentEnvelope,
    CommentsQuery,
    ReportIn,
)
from shared.transport.jsoncodec import json_response
from shared.web.errors import BadRequest
from shared.web.identity import require_user
from shared.web.openapi import errors
from shared.web.schemas import FILE_UPLOAD, TOKEN_AUTH

# Scheduled messages.


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


# Files.


@docs(
    tags=["attachments"],
    summary="Upload a file (multipart, a part named `file`) to attach to a message",
    security=TOKEN_AUTH,
    requestBody=FILE_UPLOAD,
)
@response_schema(AttachmentEnvelopeOut, 201)
async def upload_attachment(request: web.Request) -> web.Response:
    caller = require_user(request)
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("the upload must be multipart/form-data with a 'file' part")
    attachment = await request.app[ATTACHMENTS].upload(caller, await request.multipart())
    return json_response({"attachment": attachment}, status=201)


@docs(
    tags=["attachments"],
    summary="Download a file: members of a chat where it was posted only",
    security=TOKEN_AUTH,
)
async def download_attachment(request: web.Request) -> web.StreamResponse:
    download = await request.app[ATTACHMENTS].download(
        require_user(request), request.match_info["attachment_id"]
    )
    # Never shown as a page: a download, of a type the browser may not guess past.
    return web.FileResponse(
        download.path,
        headers={
            "Content-Type": download.content_type,
            "Content-Disposition": content_disposition(download.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


# Comments on messages.


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


# Reports and status.


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
