"""HTTP handlers of files posted in chats."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, response_schema

from chat_service.attachments import content_disposition
from chat_service.keys import ATTACHMENTS
from chat_service.schemas.messages import AttachmentEnvelopeOut
from shared.web.errors import BadRequest
from shared.web.identity import require_user
from shared.web.jsoncodec import json_response
from shared.web.schemas import FILE_UPLOAD, TOKEN_AUTH


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
