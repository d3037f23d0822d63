"""auth_service/signing.py: the development signing key in DATA_DIR (one key, however many
replicas start at once), and key rotation."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pytest_aiohttp import AiohttpClient

from auth_service.app import create_app
from auth_service.signing import KeyRing, _development_key, public_jwk
from tests.factories import auth_settings
from tests.infra import Infra

REPLICAS = 8


# Each replica waits for the same instant, then takes the key, as replicas started together do.
REPLICA = """
import sys, time
from pathlib import Path
from auth_service.signing import _development_key, public_jwk
start = float(sys.argv[2])
while time.time() < start:
    pass
print(public_jwk(_development_key(Path(sys.argv[1])).public_key())["kid"])
"""


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_replicas_starting_together_all_sign_with_the_key_in_the_file(tmp_path: Path) -> None:
    start = time.time() + 3
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA, str(tmp_path), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(REPLICAS)
    ]
    kids = {replica.communicate(timeout=60)[0].strip() for replica in replicas}
    assert all(replica.returncode == 0 for replica in replicas)
    stored = load_pem_private_key((tmp_path / "jwt" / "signing.pem").read_bytes(), None)
    assert isinstance(stored, Ed25519PrivateKey)
    assert kids == {public_jwk(stored.public_key())["kid"]}
    assert [p.name for p in (tmp_path / "jwt").iterdir()] == ["signing.pem"]


def test_the_key_file_is_kept_across_restarts_and_private(tmp_path: Path) -> None:
    first = _development_key(tmp_path)
    again = _development_key(tmp_path)
    assert public_jwk(first.public_key()) == public_jwk(again.public_key())
    assert (tmp_path / "jwt" / "signing.pem").stat().st_mode & 0o777 == 0o600


async def test_key_rotation_keeps_old_tokens_valid_while_both_keys_are_published(
    infra: Infra, aiohttp_client: AiohttpClient
) -> None:
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    old_ring = KeyRing.from_settings(auth_settings(infra, JWT_SIGNING_KEY=_pem(old_key)))
    old_token = old_ring.issue(1, "jake", "session").token

    rotated = auth_settings(
        infra, JWT_SIGNING_KEY=_pem(new_key), JWT_EXTRA_PUBLIC_KEYS=_public_pem(old_key)
    )
    client = await aiohttp_client(create_app(rotated))
    jwks = await (await client.get("/api/.well-known/jwks.json")).json()
    kids = {key["kid"] for key in jwks["keys"]}
    assert old_ring.signing_jwk["kid"] in kids and len(kids) == 2

    # A verifier that knows only the published JWKS accepts the old token and a new one.
    new_token = KeyRing.from_settings(rotated).issue(2, "anna", "s").token
    for token in (old_token, new_token):
        kid = jwt.get_unverified_header(token)["kid"]
        jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
        key = jwt.PyJWK(jwk).key
        decoded = jwt.decode(token, key, algorithms=["EdDSA"], audience="chopchop")
        assert decoded["sub"] in ("1", "2")
