"""Proof that a request comes from inside the deployment: the gateway vouches for the caller,
and a service for itself, with a short-lived signature that every service checks.

The gateway strips identity headers from clients and sets its own after verifying a token;
without more, a service would believe them from anyone who reaches it (another container, a
pod of the cluster). So the gateway signs them: `X-Internal-Auth: v1.<issuer>.<unix
time>.<HMAC-SHA256>` over the issuer, the time, the method, the path (without the query),
and the identity headers' values, with a key only the deployment holds (`INTERNAL_AUTH_KEY`).
A service refuses (401) identity headers without a valid signature, a signature older than
`MAX_AGE` seconds or for another method or path, and a call to an `/internal/*` route
without one; a service calling another signs the same way, as itself. Every key listed is
accepted, the first signs: a rotation adds the new key beside the old one.
"""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from shared.settings import InternalKeys
from shared.web.errors import Unauthorized
from shared.web.identity import (
    CLIENT_IP_HEADER,
    IDENTITY_HEADERS,
    ROLE_HEADER,
    TOKEN_ID_HEADER,
    USER_ID_HEADER,
    USERNAME_HEADER,
)

HEADER = "X-Internal-Auth"
VERSION = "v1"
GATEWAY = "gateway"
# Seconds a signature is good for, either side of now (clocks of hosts differ a little).
MAX_AGE = 30
INTERNAL_PREFIX = "/internal/"
_SIGNED_HEADERS = (
    USER_ID_HEADER,
    USERNAME_HEADER,
    ROLE_HEADER,
    TOKEN_ID_HEADER,
    CLIENT_IP_HEADER,
)


def _digest(
    key: bytes, issuer: str, stamp: str, method: str, path: str, identity: tuple[str, ...]
) -> bytes:
    message = "\n".join((VERSION, issuer, stamp, method, path, *identity))
    return hmac.digest(key, message.encode("utf-8", "surrogateescape"), "sha256")


def sign(
    keys: InternalKeys,
    issuer: str,
    method: str,
    path: str,
    identity: Mapping[str, str] | None = None,
    now: float | None = None,
) -> str:
    """The header's value for a request of `issuer`: `path` without its query, `identity`
    the identity headers it carries (absent ones count as empty)."""
    stamp = str(int(time.time() if now is None else now))
    values = tuple((identity or {}).get(name, "") for name in _SIGNED_HEADERS)
    digest = _digest(keys.signing, issuer, stamp, method, path.partition("?")[0], values)
    return f"{VERSION}.{issuer}.{stamp}.{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


class Refused(Exception):
    """A signature that proves nothing; the message says why."""


def verify(
    keys: InternalKeys,
    value: str,
    method: str,
    path: str,
    identity: Mapping[str, str],
    now: float | None = None,
) -> str:
    """The issuer of a valid signature, else raises Refused."""
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        raise Refused("the internal credential is malformed")
    _, issuer, stamp, signature = parts
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        raise Refused("the internal credential is malformed")
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > MAX_AGE:
        raise Refused("the internal credential has expired")
    try:
        sent = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except ValueError:
        raise Refused("the internal credential is malformed") from None
    values = tuple(identity.get(name, "") for name in _SIGNED_HEADERS)
    path = path.partition("?")[0]
    for key in keys.keys:
        if hmac.compare_digest(_digest(key, issuer, stamp, method, path, values), sent):
            return issuer
    raise Refused("the internal credential is not valid for this request")


def internal_auth_middleware(keys: InternalKeys, *, enforce: bool = True) -> Middleware:
    """Identity headers are believed only with the gateway's signature over them, and
    `/internal/*` routes answer only a signed caller (the gateway or a service). With
    `enforce` off (while a release that did not sign still runs), a call without a signature
    goes through; one with a signature is checked all the same."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        value = request.headers.get(HEADER)
        if value is None:
            if not enforce:
                return await handler(request)
            if request.raw_path.startswith(INTERNAL_PREFIX):
                raise Unauthorized("an internal route needs the credential of a service")
            if any(name in request.headers for name in IDENTITY_HEADERS):
                raise Unauthorized("identity headers are accepted only as signed by the gateway")
            return await handler(request)
        try:
            verify(keys, value, request.method, request.raw_path, request.headers)
        except Refused as exc:
            raise Unauthorized(str(exc)) from None
        return await handler(request)

    return middleware
