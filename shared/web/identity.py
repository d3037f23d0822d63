"""The caller as the gateway vouches for it, in trusted headers that clients can never set."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from shared.web.errors import Unauthorized
from shared.web.schemas import decimal

# The gateway strips these from every client request and sets them after verifying a token.
USER_ID_HEADER = "X-User-Id"
USERNAME_HEADER = "X-Username"
ROLE_HEADER = "X-User-Role"  # `user`, `moderator` or `admin`, from the token's `role` claim
TOKEN_ID_HEADER = "X-Token-Id"  # noqa: S105 - a header name, not a secret
CLIENT_IP_HEADER = "X-Client-IP"
IDENTITY_HEADERS = (
    USER_ID_HEADER,
    USERNAME_HEADER,
    ROLE_HEADER,
    TOKEN_ID_HEADER,
    CLIENT_IP_HEADER,
)
ROLES = ("user", "moderator", "admin")


@dataclass(frozen=True)
class Caller:
    id: int
    username: str
    token_id: str = ""
    role: str = "user"

    @property
    def moderates(self) -> bool:
        return self.role in ("moderator", "admin")


def current_user(request: web.Request) -> Caller | None:
    raw_id = request.headers.get(USER_ID_HEADER)
    if not raw_id:
        return None
    user_id = decimal(raw_id)
    if user_id is None:
        return None
    role = request.headers.get(ROLE_HEADER, "user")
    return Caller(
        user_id,
        request.headers.get(USERNAME_HEADER, ""),
        request.headers.get(TOKEN_ID_HEADER, ""),
        role if role in ROLES else "user",
    )


def require_user(request: web.Request) -> Caller:
    caller = current_user(request)
    if caller is None:
        raise Unauthorized("authentication is required")
    return caller


def client_ip(request: web.Request) -> str:
    # The gateway sets this header and strips any value a client sends.
    return request.headers.get(CLIENT_IP_HEADER) or request.remote or "unknown"
