"""Access-token verification: EdDSA pinned, keys from auth_service's JWKS, results cached."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt

log = logging.getLogger(__name__)

ALGORITHMS = ["EdDSA"]
LEEWAY = 5
CACHE_SIZE = 50_000
JWKS_MIN_REFETCH = 5.0  # an unknown kid refetches at most this often: kids cost nothing to invent


class InvalidToken(Exception):
    """The token is malformed, forged, expired or not for us."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    username: str
    jti: str
    session_id: str  # ending the session revokes every token that names it
    expires_at: float
    role: str = "user"


class TokenVerifier:
    def __init__(
        self,
        fetch_jwks: Callable[[], Awaitable[dict[str, Any]]],
        issuer: str,
        audience: str,
    ) -> None:
        self._fetch_jwks = fetch_jwks
        self._issuer = issuer
        self._audience = audience
        self._keys: dict[str, Any] = {}
        self._last_fetch = 0.0
        self._fetch_lock = asyncio.Lock()
        # Signature checks cost tens of microseconds each; a verified token is remembered
        # until it expires (revocation of its session is checked on every request).
        self._cache: dict[str, Identity] = {}

    async def refresh_keys(self, force: bool = False) -> None:
        async with self._fetch_lock:
            if not force and time.monotonic() - self._last_fetch < JWKS_MIN_REFETCH:
                return
            self._last_fetch = time.monotonic()
            document = await self._fetch_jwks()
            keys = {}
            for jwk in document.get("keys", []):
                if jwk.get("alg", "EdDSA") in ALGORITHMS and "kid" in jwk:
                    keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="EdDSA").key
            self._keys = keys

    async def verify(self, token: str) -> Identity:
        cached = self._cache.get(token)
        now = time.time()
        if cached is not None:
            if cached.expires_at + LEEWAY > now:
                return cached
            del self._cache[token]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken("unexpected algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("no key id")
        if kid not in self._keys:
            try:
                await self.refresh_keys()
            except Exception as exc:
                log.warning("JWKS fetch failed", extra={"error": repr(exc)})
            if kid not in self._keys:
                raise InvalidToken("unknown key id")
        try:
            claims = jwt.decode(
                token,
                self._keys[kid],
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "sub", "jti", "sid"]},
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(str(exc)) from exc
        identity = Identity(
            str(claims["sub"]),
            str(claims.get("username", "")),
            str(claims["jti"]),
            str(claims["sid"]),
            claims["exp"],
            str(claims.get("role", "user")),
        )
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[token] = identity
        return identity


def token_from_header(value: str) -> str | None:
    """The token of `Token <jwt>` or `Bearer <jwt>`; None when the header is absent."""
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() not in ("token", "bearer") or not token.strip():
        raise InvalidToken("the Authorization header must be 'Token <jwt>' or 'Bearer <jwt>'")
    return token.strip()
