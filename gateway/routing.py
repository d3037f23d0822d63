"""The routing table: which service answers a public path, and how the gateway guards it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Access(Enum):
    PUBLIC = "public"  # no token needed; a token sent is still verified
    OPTIONAL = "optional"  # the answer depends on the caller when there is one
    REQUIRED = "required"  # 401 at the gateway without a valid token


class Kind(Enum):
    JSON = "json"
    UPLOAD = "upload"
    WEBSOCKET = "websocket"


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    service: str
    access: Access
    kind: Kind = Kind.JSON
    group: str = "api"


ANY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
READ = frozenset({"GET", "HEAD"})
WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def route(
    methods: str | frozenset[str],
    path: str,
    service: str,
    access: Access,
    kind: Kind = Kind.JSON,
    group: str = "api",
) -> Route:
    method_set = frozenset(methods.split("|")) if isinstance(methods, str) else methods
    if "GET" in method_set:
        method_set |= {"HEAD"}
    return Route(method_set, re.compile(f"^{path}$"), service, access, kind, group)


PUB, OPT, REQ = Access.PUBLIC, Access.OPTIONAL, Access.REQUIRED
SEGMENT = r"[^/]+"

# Order matters only within a first segment: the first match wins.
TABLE: list[Route] = [
    # auth_service
    route("POST", "/api/users", "auth", PUB, group="auth"),
    route("GET", "/api/users", "auth", PUB),
    route("POST", "/api/users/login", "auth", PUB, group="auth"),
    route("POST", f"/api/users/{SEGMENT}/report", "chat", REQ),
    route("GET|PUT|DELETE", "/api/user", "auth", REQ),
    route(
        "POST",
        "/api/auth/(refresh|confirm|password-reset|password-reset/confirm)",
        "auth",
        PUB,
        group="auth",
    ),
    route("POST", "/api/auth/(logout|confirm/resend)", "auth", REQ, group="auth"),
    route("GET", r"/api/\.well-known/jwks\.json", "auth", PUB),
    route("GET", r"/api/static/avatar\.svg", "auth", PUB),
    # social_service
    route("GET", f"/api/profiles/{SEGMENT}(/followers|/following)?", "social", OPT),
    route("POST|DELETE", f"/api/profiles/{SEGMENT}/follow", "social", REQ),
    # posts_service
    route("GET", "/api/articles/feed", "posts", REQ),
    route("GET", "/api/articles(/.*)?", "posts", OPT),
    route(WRITE, "/api/articles(/.*)?", "posts", REQ),
    route("GET", "/api/tags", "posts", PUB),
    route("POST", "/api/media", "posts", REQ, Kind.UPLOAD, "upload"),
    route("GET", f"/api/media/{SEGMENT}", "posts", PUB),
    # chat_service
    route("GET", "/api/chat/ws", "chat", REQ, Kind.WEBSOCKET, "ws"),
    route("POST", "/api/chat/attachments", "chat", REQ, Kind.UPLOAD, "upload"),
    route(ANY, "/api/chat/.+", "chat", REQ),
    route(ANY, "/api/chats(/.*)?", "chat", REQ),
    # Moderation: chat_service keeps reports, bans and the audit log of every service.
    route(ANY, "/api/moderation/.+", "chat", REQ),
    # Notifications: chat_service keeps them, beside the sockets that deliver them.
    route("GET", "/api/notifications(/unread-count)?", "chat", REQ),
    route("POST", "/api/notifications/read", "chat", REQ),
]


def _first_segment(path: str) -> str:
    # "/api/articles/x" -> "articles"
    parts = path.split("/", 3)
    return parts[2] if len(parts) > 2 else ""


def _index(table: list[Route]) -> dict[str, list[Route]]:
    index: dict[str, list[Route]] = {}
    for entry in table:
        segment = entry.pattern.pattern[len("^/api/") :].split("/", 1)[0].split("(", 1)[0]
        index.setdefault(segment.replace("\\", "").rstrip("$"), []).append(entry)
    return index


_INDEX = _index(TABLE)


class NoRoute(Exception):
    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        self.path_exists = bool(allowed)


def match(method: str, path: str) -> Route:
    """The route for a request; raises NoRoute (telling 404 from 405) when there is none."""
    candidates = _INDEX.get(_first_segment(path), ())
    allowed: frozenset[str] = frozenset()
    for entry in candidates:
        if entry.pattern.fullmatch(path):
            if method in entry.methods:
                return entry
            allowed |= entry.methods
    raise NoRoute(allowed)
