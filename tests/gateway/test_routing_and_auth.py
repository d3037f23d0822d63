"""Routing by the declarative table, token verification, and the trusted identity headers."""

import asyncio
import time
from typing import Any

import jwt
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.contracts.revocation import Ended, announce
from tests.gateway.conftest import Echo, GatewayFactory
from tests.typing import AppClient


def bearer(echoes: dict[str, Echo], user_id: int = 7, username: str = "jake") -> dict[str, str]:
    token = echoes["auth"].keys.issue(user_id, username, "session").token
    return {"Authorization": f"Token {token}"}


@pytest.mark.parametrize(
    ("method", "path", "service"),
    [
        ("POST", "/api/users", "auth"),
        ("POST", "/api/users/login", "auth"),
        ("GET", "/api/users", "auth"),
        ("GET", "/api/user", "auth"),
        ("POST", "/api/auth/refresh", "auth"),
        ("GET", "/api/.well-known/jwks.json", "auth"),
        ("GET", "/api/profiles/anna", "social"),
        ("POST", "/api/profiles/anna/follow", "social"),
        ("GET", "/api/articles?tag=soup", "posts"),
        ("GET", "/api/articles/feed", "posts"),
        ("PUT", "/api/articles/my-soup", "posts"),
        ("GET", "/api/tags", "posts"),
        ("GET", "/api/media/abc", "posts"),
        ("GET", "/api/chats", "chat"),
        ("POST", "/api/chats/3/messages", "chat"),
        ("GET", "/api/chat/status", "chat"),
        ("POST", "/api/users/anna/report", "chat"),
    ],
)
async def test_each_route_group_reaches_its_service(
    gateway: AppClient, echoes: dict[str, Echo], method: str, path: str, service: str
) -> None:
    kwargs: dict[str, Any] = {"headers": bearer(echoes)}
    if method in ("POST", "PUT"):
        kwargs["json"] = {}
    response = await gateway.request(method, path, **kwargs)
    assert response.status == 200, await response.text()
    if path.endswith("jwks.json"):
        return
    assert (await response.json())["service"] == service
    assert echoes[service].seen[-1]["path"] == path


@pytest.mark.parametrize("path", ["/api/nothing", "/api/internal/users", "/internal/users", "/api"])
async def test_unknown_and_internal_paths_are_404_in_the_api_format(
    gateway: AppClient, echoes: dict[str, Echo], path: str
) -> None:
    response = await gateway.get(path, headers=bearer(echoes))
    assert response.status == 404
    assert "errors" in await response.json()
    assert all(not echo.seen for echo in echoes.values())


async def test_the_path_travels_as_the_client_encoded_it(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    # Decoded and re-encoded, "%2F" would become "/" and the dots a way out of /api.
    path = "/api/articles/..%2F..%2Finternal%2Fsummary?q=a%20b"
    assert (await gateway.get(path)).status == 200
    assert echoes["posts"].seen[-1]["raw_path"] == path


async def test_a_wrong_method_on_a_known_path_is_405(gateway: AppClient) -> None:
    response = await gateway.patch("/api/tags", json={})
    assert response.status == 405


async def test_a_route_that_needs_a_token_is_401_without_calling_the_service(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    response = await gateway.get("/api/articles/feed")
    assert response.status == 401
    assert (await response.json())["errors"]["body"] == ["authentication is required"]
    assert not echoes["posts"].seen


async def test_client_sent_identity_headers_are_replaced(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    spoofed = {
        "X-User-Id": "1",
        "X-Username": "admin",
        "X-User-Role": "admin",
        "X-Client-IP": "10.0.0.1",
    }
    anonymous = await (await gateway.get("/api/articles", headers=spoofed)).json()
    assert "X-User-Id" not in anonymous["headers"] and "X-Username" not in anonymous["headers"]
    assert "X-User-Role" not in anonymous["headers"]
    assert anonymous["headers"]["X-Client-IP"] == "127.0.0.1"
    signed_in = await (
        await gateway.get("/api/articles", headers={**spoofed, **bearer(echoes, 7, "jake")})
    ).json()
    assert signed_in["headers"]["X-User-Id"] == "7"
    assert signed_in["headers"]["X-Username"] == "jake"
    assert signed_in["headers"]["X-User-Role"] == "user"  # the token's, not the client's


async def test_forwarding_headers_and_request_id_are_set(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    response = await gateway.get("/api/tags", headers={"X-Request-ID": "trace-42"})
    received = (await response.json())["headers"]
    assert received["X-Request-ID"] == "trace-42"
    assert received["X-Forwarded-For"] == "127.0.0.1"
    assert received["X-Forwarded-Proto"] == "http"
    assert received["X-Forwarded-Host"].startswith("127.0.0.1")
    assert response.headers["X-Request-ID"] == "trace-42"


async def test_hop_by_hop_headers_do_not_travel(gateway: AppClient) -> None:
    response = await gateway.get(
        "/api/tags",
        headers={"Connection": "keep-alive, X-Secret", "X-Secret": "1", "TE": "trailers"},
    )
    received = (await response.json())["headers"]
    assert "X-Secret" not in received and "TE" not in received


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


async def test_a_revoked_token_is_401(
    gateway: AppClient, echoes: dict[str, Echo], redis: aioredis.Redis
) -> None:
    access = echoes["auth"].keys.issue(7, "jake", "session")
    headers = {"Authorization": f"Bearer {access.token}"}
    assert (await gateway.get("/api/articles/feed", headers=headers)).status == 200
    await announce(redis, [Ended("session", access.expires_at)])
    for _ in range(100):  # the announcement reaches the gateway over pub/sub
        response = await gateway.get("/api/articles/feed", headers=headers)
        if response.status == 401:
            break
        await asyncio.sleep(0.02)
    assert response.status == 401
    assert (await response.json())["errors"]["body"] == ["the token was revoked"]


async def test_server_timing_splits_gateway_and_upstream_time(gateway: AppClient) -> None:
    response = await gateway.get("/api/tags")
    timing = response.headers["Server-Timing"]
    assert timing.startswith("gateway;dur=") and ", upstream;dur=" in timing


async def test_large_responses_stream_through_intact(gateway: AppClient) -> None:
    response = await gateway.get("/api/media/big")
    assert response.status == 200
    assert await response.read() == b"x" * 1_000_000


async def test_tokens_revoked_before_the_gateway_started_are_refused(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    access = echoes["auth"].keys.issue(7, "jake", "session")
    echoes["auth"].revoked.append(Ended("session", access.expires_at))
    gateway = await make_gateway()
    response = await gateway.get(
        "/api/articles/feed", headers={"Authorization": f"Token {access.token}"}
    )
    assert response.status == 401
