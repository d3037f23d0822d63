"""The client's address as the gateway reports it."""

from aiohttp import web

from shared.identity import CLIENT_IP_HEADER


def client_ip(request: web.Request) -> str:
    # The gateway sets this header and strips any value a client sends.
    return request.headers.get(CLIENT_IP_HEADER) or request.remote or "unknown"
