"""The client's address as the gateway reports it."""

from aiohttp import web


def client_ip(request: web.Request) -> str:
    # The gateway appends the peer address as the last X-Forwarded-For entry; entries before it
    # were sent by the client and prove nothing.
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.remote or "unknown"
