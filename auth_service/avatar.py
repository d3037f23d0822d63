"""The default avatar: what a profile shows until its user sets an image, served by us."""

from __future__ import annotations

import hashlib

from aiohttp import web
from aiohttp_apigami import docs

# A stable public path (reached through the gateway), so that stored profiles keep working.
AVATAR_PATH = "/api/static/avatar.svg"

# A neutral head and shoulders on a grey disc; no external font, image or host.
AVATAR_SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128" \
role="img" aria-label="avatar">
<circle cx="64" cy="64" r="64" fill="#d5d9de"/>
<circle cx="64" cy="50" r="22" fill="#ffffff"/>
<path d="M24 108c6-22 22-34 40-34s34 12 40 34a64 64 0 0 1-80 0z" fill="#ffffff"/>
</svg>
"""
_ETAG = '"' + hashlib.sha256(AVATAR_SVG).hexdigest()[:16] + '"'


def avatar_url(public_url: str) -> str:
    return f"{public_url.rstrip('/')}{AVATAR_PATH}"


@docs(tags=["users"], summary="The default avatar of profiles without an image (SVG)")
async def get_default_avatar(request: web.Request) -> web.Response:
    headers = {
        "Cache-Control": "public, max-age=86400",
        "ETag": _ETAG,
        # An SVG can hold scripts: this one holds none, and opened on its own it may run none.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("If-None-Match") == _ETAG:
        return web.Response(status=304, headers=headers)
    return web.Response(body=AVATAR_SVG, content_type="image/svg+xml", headers=headers)
