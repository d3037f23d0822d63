"""Tokens the gateway must refuse (401), and the boundary it keeps: no internal routes, no
identity headers from clients."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from yarl import URL

from shared.web.identity import IDENTITY_HEADERS
from tests.factories import call, signup
from tests.stack import Stack


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return _decode(header), _decode(payload)


def _decode(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


def stack_key(running_stack: Stack) -> Ed25519PrivateKey:
    """The stack's own signing key (development mode keeps it in DATA_DIR)."""
    key = load_pem_private_key((running_stack.data_dir / "jwt" / "signing.pem").read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def forged(token: str, key: Any, algorithm: str = "EdDSA", **claims: Any) -> str:
    header, payload = parts(token)
    return jwt.encode(
        {**payload, **claims}, key, algorithm=algorithm, headers={"kid": header["kid"]}
    )


async def refused(api: aiohttp.ClientSession, token: str) -> list[int]:
    """The answers to a token on a route that needs one and on a public route."""
    private, _ = await call(api, "GET", "/api/user", token)
    public, _ = await call(api, "GET", "/api/articles", token)
    return [private, public]


async def test_a_token_signed_by_the_stack_but_expired_is_401(
    api: aiohttp.ClientSession, running_stack: Stack
) -> None:
    jake = await signup(api, "jake")
    now = int(time.time())
    # Beyond the gateway's leeway of a few seconds.
    expired = forged(jake["token"], stack_key(running_stack), iat=now - 3600, exp=now - 60)
    still_valid = forged(jake["token"], stack_key(running_stack), exp=now + 600)

    assert await refused(api, expired) == [401, 401]
    assert (await call(api, "GET", "/api/user", still_valid))[0] == 200


async def test_a_revoked_token_is_401(api: aiohttp.ClientSession) -> None:
    jake = await signup(api, "jake")
    status, _ = await call(api, "POST", "/api/auth/logout", jake["token"])
    assert status in (200, 204)

    assert await refused(api, jake["token"]) == [401, 401]


@pytest.mark.parametrize(
    "tamper",
    [
        # another user's id in the payload, the signature kept
        "sub",
        # one character of the signature changed
        "signature",
    ],
)
async def test_a_tampered_token_is_401(api: aiohttp.ClientSession, tamper: str) -> None:
    jake, anna = await signup(api, "jake"), await signup(api, "anna")
    header, payload, signature = jake["token"].split(".")
    if tamper == "sub":
        claims = {**parts(jake["token"])[1], "sub": parts(anna["token"])[1]["sub"]}
        payload = _b64(json.dumps(claims).encode())
    else:
        signature = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")

    assert await refused(api, f"{header}.{payload}.{signature}") == [401, 401]


async def test_an_unsigned_alg_none_token_is_401(api: aiohttp.ClientSession) -> None:
    jake = await signup(api, "jake")
    header, payload = parts(jake["token"])
    for alg in ("none", "None", "NONE"):
        unsigned = f"{_b64(json.dumps({**header, 'alg': alg}).encode())}.{_b64(json.dumps(payload).encode())}."
        assert await refused(api, unsigned) == [401, 401], alg


async def test_a_token_signed_by_another_key_is_401(api: aiohttp.ClientSession) -> None:
    jake = await signup(api, "jake")
    other = Ed25519PrivateKey.generate()
    header, _ = parts(jake["token"])
    with_our_kid = forged(jake["token"], other)
    with_its_own_kid = jwt.encode(
        parts(jake["token"])[1], other, algorithm="EdDSA", headers={"kid": "attacker"}
    )
    # The public key of the JWKS used as an HMAC secret (algorithm confusion).
    status, jwks = await call(api, "GET", "/api/.well-known/jwks.json")
    assert status == 200
    public_x = next(k["x"] for k in jwks["keys"] if k["kid"] == header["kid"])
    hmac = forged(jake["token"], public_x.encode(), algorithm="HS256")

    for token in (with_our_kid, with_its_own_kid, hmac):
        assert await refused(api, token) == [401, 401]


@pytest.mark.parametrize(
    "path",
    [
        "/internal/users?ids=1",
        "/internal/users/by-username/jake",
        "/api/../internal/users?ids=1",
        "//internal/users?ids=1",
        "/%69nternal/users?ids=1",
        "/api/%2e%2e/internal/users?ids=1",
    ],
)
async def test_internal_routes_are_404_through_the_gateway(
    api: aiohttp.ClientSession, running_stack: Stack, path: str
) -> None:
    jake = await signup(api, "jake")
    # Sent as written: no client-side normalisation of dot segments or double slashes.
    url = URL(running_stack.url + path, encoded=True)
    async with aiohttp.ClientSession() as raw:
        for token in (None, jake["token"]):
            headers = {"Authorization": f"Token {token}"} if token else {}
            async with raw.get(url, headers=headers, allow_redirects=False) as response:
                body = await response.read()
                assert response.status == 404, (path, response.status, body[:200])
                assert b"jake@example.com" not in body


async def test_identity_headers_from_a_client_are_ignored(api: aiohttp.ClientSession) -> None:
    jake, anna = await signup(api, "jake"), await signup(api, "anna")
    jake_claims = parts(jake["token"])[1]
    forged_headers = {
        "X-User-Id": jake_claims["sub"],
        "X-Username": "jake",
        "X-User-Role": "admin",
        "X-Token-Id": jake_claims["jti"],
        "X-Client-IP": "10.9.8.7",
    }
    assert set(forged_headers) == set(IDENTITY_HEADERS)

    anonymous, _ = await call(api, "GET", "/api/user", headers=forged_headers)
    anonymous_post, _ = await call(
        api,
        "POST",
        "/api/articles",
        headers=forged_headers,
        json={"article": {"title": "By jake?", "description": "d", "body": "b"}},
    )
    status, me = await call(api, "GET", "/api/user", anna["token"], headers=forged_headers)
    status_post, article = await call(
        api,
        "POST",
        "/api/articles",
        anna["token"],
        headers=forged_headers,
        json={"article": {"title": "By anna", "description": "d", "body": "b"}},
    )
    # Logging out revokes the token the gateway verified, never the one a header names.
    logout, _ = await call(api, "POST", "/api/auth/logout", anna["token"], headers=forged_headers)
    jake_after, _ = await call(api, "GET", "/api/user", jake["token"])
    anna_after, _ = await call(api, "GET", "/api/user", anna["token"])

    assert (anonymous, anonymous_post) == (401, 401)
    assert (status, me["user"]["username"], me["user"]["role"]) == (200, "anna", "user")
    assert (status_post, article["article"]["author"]["username"]) == (201, "anna")
    assert logout in (200, 204)
    assert (jake_after, anna_after) == (200, 401)
