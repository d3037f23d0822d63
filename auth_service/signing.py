"""Signing keys, the JWKS document, and access tokens (EdDSA JWTs with a `kid`)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auth_service.settings import AuthSettings

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = _b64(raw)
    # The kid is the RFC 7638 thumbprint: stable for a key, never configured by hand.
    thumbprint = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = _b64(hashlib.sha256(thumbprint.encode()).digest())[:16]
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def _load_private(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("JWT_SIGNING_KEY must be an Ed25519 private key in PEM")
    return key


def _load_publics(pems: str) -> list[Ed25519PublicKey]:
    keys = []
    marker = "-----END PUBLIC KEY-----"
    for chunk in pems.split(marker):
        if "-----BEGIN PUBLIC KEY-----" in chunk:
            key = serialization.load_pem_public_key((chunk.strip() + "\n" + marker).encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("JWT_EXTRA_PUBLIC_KEYS must hold Ed25519 public keys")
            keys.append(key)
    return keys


def _development_key(data_dir: Path | None) -> Ed25519PrivateKey:
    """A key kept in the data folder, so tokens survive restarts of `make run`.

    Replicas that start together race for the file: each writes its own key to a private
    temporary file and links it into place, the link fails for every one but the first, and
    the others read the winner's key, so every replica signs with the same one."""
    if data_dir is None:
        return Ed25519PrivateKey.generate()
    path = data_dir / "jwt" / "signing.pem"
    if path.exists():
        return _load_private(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-")
    try:
        with os.fdopen(descriptor, "wb") as file:  # mkstemp creates it with mode 0600
            file.write(pem)
        os.link(temporary, path)
    except FileExistsError:
        return _load_private(path.read_text())
    finally:
        os.unlink(temporary)
    return key


@dataclass(frozen=True)
class AccessToken:
    token: str
    jti: str
    expires_at: int


class KeyRing:
    """Signs with the current key; verifies with it and with every retired key still listed."""

    def __init__(
        self,
        signing: Ed25519PrivateKey,
        retired: list[Ed25519PublicKey],
        settings: AuthSettings,
    ) -> None:
        self._signing = signing
        self._settings = settings
        self.signing_jwk = public_jwk(signing.public_key())
        self._verifying = {
            jwk["kid"]: key for key in [signing.public_key(), *retired] for jwk in [public_jwk(key)]
        }

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> KeyRing:
        pem = settings.signing_key.get()
        signing = _load_private(pem) if pem else _development_key(settings.data_dir)
        return cls(signing, _load_publics(settings.extra_public_keys), settings)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(key) for key in self._verifying.values()]}

    def issue(
        self,
        user_id: int,
        username: str,
        session_id: str,
        expires_at: int | None = None,
        role: str = "user",
        issued_at: int | None = None,
    ) -> AccessToken:
        """A token of the session; it lives ACCESS_TOKEN_TTL unless `expires_at` says otherwise
        (the session token of login lives as long as its session). `issued_at` is the moment
        its caller computed `expires_at` from, so that the token's life is exactly that."""
        now = issued_at if issued_at is not None else int(time.time())
        jti = uuid.uuid4().hex
        claims = {
            "sub": str(user_id),
            "username": username,
            "role": role,
            "sid": session_id,
            "iat": now,
            "exp": expires_at if expires_at is not None else now + self._settings.access_ttl,
            "jti": jti,
            "iss": self._settings.issuer,
            "aud": self._settings.audience,
        }
        token = jwt.encode(
            claims, self._signing, algorithm=ALGORITHM, headers={"kid": self.signing_jwk["kid"]}
        )
        return AccessToken(token, jti, claims["exp"])  # type: ignore[arg-type]

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; raises jwt.InvalidTokenError when it is not one of ours and valid."""
        kid = jwt.get_unverified_header(token).get("kid")
        key = self._verifying.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise jwt.InvalidTokenError("unknown key id")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=self._settings.audience,
            issuer=self._settings.issuer,
            leeway=5,
            options={"require": ["exp", "iat", "sub", "jti", "sid"]},
        )
        return claims
