"""gateway/tokens.py: tokens verified against auth's keys."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.gateway.conftest import Echo
from tests.typing import AppClient


def _forge(claims: dict[str, Any], key: Any, algorithm: str, kid: str) -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "7",
        "username": "jake",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
        "sid": "s1",
        "iss": "chopchop-auth",
        "aud": "chopchop",
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    "case",
    [
        "alg_none",
        "wrong_key",
        "expired",
        "wrong_audience",
        "wrong_issuer",
        "no_session",
        "malformed",
        "bad_scheme",
    ],
)
async def test_invalid_tokens_are_401_even_on_public_routes(
    gateway: AppClient, echoes: dict[str, Echo], case: str
) -> None:
    kid = echoes["auth"].keys.signing_jwk["kid"]
    signing = echoes["auth"].keys._signing
    tokens = {
        # An unsigned token naming our kid must not pass.
        "alg_none": _forge(_claims(), None, "none", kid),
        # Signed by a key that is not published, under our kid.
        "wrong_key": _forge(_claims(), Ed25519PrivateKey.generate(), "EdDSA", kid),
        "expired": _forge(_claims(exp=int(time.time()) - 60), signing, "EdDSA", kid),
        "wrong_audience": _forge(_claims(aud="someone-else"), signing, "EdDSA", kid),
        "wrong_issuer": _forge(_claims(iss="evil"), signing, "EdDSA", kid),
        # A token that names no session could never be revoked.
        "no_session": _forge(
            {k: v for k, v in _claims().items() if k != "sid"}, signing, "EdDSA", kid
        ),
        "malformed": "not.a.jwt",
    }
    header = "Basic abc" if case == "bad_scheme" else f"Token {tokens[case]}"
    response = await gateway.get("/api/tags", headers={"Authorization": header})
    assert response.status == 401
    assert not echoes["posts"].seen
