"""Links of earlier releases that now name a page of the web client.

Before 2026-12-07 an invite link was the API path `PUBLIC_URL/api/chats/join/{code}`; it is
now the web client's page `PUBLIC_URL/join/{code}`. People still hold links of the old form,
and a browser that opens one asks for a page: the gateway, which serves the web client, sends
it to the page instead of answering 401. API clients (which never ask for HTML) are answered
as before. This is the gateway's business, not chat's: chat knows no pages, and the browser
carries no token to pass on.
"""

from __future__ import annotations

import re

from aiohttp import web

OLD_INVITE_PREFIX = "/api/chats/join/"
# Codes are URL-safe (secrets.token_urlsafe); anything else is no code, and is answered as
# before, so nothing a client writes in the path reaches the Location header but a code.
_CODE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def wants_page(request: web.Request) -> bool:
    """A browser's navigation: a read whose Accept names text/html (`*/*` alone does not)."""
    if request.method not in ("GET", "HEAD"):
        return False
    accept = request.headers.get("Accept", "")
    return any(part.split(";", 1)[0].strip().lower() == "text/html" for part in accept.split(","))


def old_invite_link(request: web.Request) -> web.Response | None:
    """The redirect to the web client's join page for an old invite link opened in a
    browser; None for every other request."""
    path = request.path
    if not path.startswith(OLD_INVITE_PREFIX) or not wants_page(request):
        return None
    code = path[len(OLD_INVITE_PREFIX) :]
    if _CODE.fullmatch(code) is None:
        return None
    # 302, not 301: browsers keep a 301 for good, and the page is where such links go today.
    # A path on the gateway's own origin, whatever name the browser reached it by.
    return web.Response(status=302, headers={"Location": f"/join/{code}"})
