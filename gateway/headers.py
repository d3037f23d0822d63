"""The headers the gateway adds to every answer: request id, CORS, rate limits, security.

They are set on the response before it is prepared, by the handler that makes it, so that
streamed answers and websocket handshakes carry them too; no response signal is involved.
"""

from __future__ import annotations

from aiohttp import web

from shared.web.middleware import REQUEST_ID_HEADER

EXPOSED_HEADERS = (
    "X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
    "Server-Timing"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
PREFLIGHT_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

# (limit, remaining, seconds to reset) of the window that admitted or refused a request
RATE_LIMIT: web.RequestKey[tuple[int, int, int]] = web.RequestKey("rate_limit", tuple)


def _security(csp: str) -> tuple[tuple[str, str], ...]:
    return (
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Content-Security-Policy", csp),
    )


API_SECURITY = _security(API_CSP)
DOCS_SECURITY = _security(DOCS_CSP)


class ResponseHeaders:
    def __init__(self, cors_origins: tuple[str, ...]) -> None:
        self._any_origin = "*" in cors_origins
        self._origins = frozenset(cors_origins)

    def allowed_origin(self, origin: str | None) -> str | None:
        if not origin:
            return None
        if self._any_origin:
            return "*"
        return origin if origin in self._origins else None

    def apply(self, request: web.Request, response: web.StreamResponse, request_id: str) -> None:
        """Adds the gateway's headers, keeping any a service set itself."""
        headers = response.headers
        headers[REQUEST_ID_HEADER] = request_id
        request_headers = request.headers
        origin = self.allowed_origin(request_headers.get("Origin"))
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            headers.add("Vary", "Origin")
        limit = request.get(RATE_LIMIT)
        if limit is not None:
            headers["RateLimit-Limit"] = str(limit[0])
            headers["RateLimit-Remaining"] = str(limit[1])
            headers["RateLimit-Reset"] = str(limit[2])
        security = DOCS_SECURITY if request.path.startswith("/api/docs") else API_SECURITY
        for name, value in security:
            if name not in headers:
                headers[name] = value
        if request_headers.get("X-Forwarded-Proto", request.scheme) == "https":
            headers.setdefault("Strict-Transport-Security", HSTS)

    def preflight(self, request: web.Request) -> web.Response | None:
        """The answer to a CORS preflight; None when the origin is not allowed."""
        if self.allowed_origin(request.headers.get("Origin")) is None:
            return None
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": PREFLIGHT_METHODS,
                "Access-Control-Allow-Headers": request.headers.get(
                    "Access-Control-Request-Headers", "Authorization, Content-Type"
                ),
                "Access-Control-Max-Age": "600",
            },
        )
