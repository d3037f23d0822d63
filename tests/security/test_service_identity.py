"""Defence in depth behind the gateway: a service believes identity headers only with the
gateway's signature over them and the request, and answers its internal routes only to a
signed caller (shared/web/internal_auth.py), whoever reaches it on the network."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from devstack.infra import run_internal_key
from shared.settings import Env, InternalKeys, SettingsError
from shared.web import internal_auth
from shared.web.errors import error_middleware
from shared.web.identity import CLIENT_IP_HEADER
from tests.factories import call, signup
from tests.services import Users, base_url
from tests.typing import AppClient

ARTICLE = {"article": {"title": "Forged", "description": "d", "body": "b"}}
KEY = "k" * 40


def signed(
    headers: dict[str, str], method: str, path: str, now: float | None = None, **keys: str
) -> dict[str, str]:
    """The headers with the gateway's credential for `method` and `path`."""
    ring = InternalKeys.from_env(Env(keys), "test") if keys else run_internal_key()
    proof = internal_auth.sign(ring, internal_auth.GATEWAY, method, path, headers, now)
    return {**headers, internal_auth.HEADER: proof}


async def post_article(url: str, headers: dict[str, str]) -> tuple[int, object]:
    async with aiohttp.ClientSession() as raw:  # no credential added: what an intruder sends
        return await call(raw, "POST", f"{url}/api/articles", headers=headers, json=ARTICLE)


async def test_identity_headers_straight_to_a_service_are_401(
    posts: AppClient, users: Users
) -> None:
    await users.add("victim")
    forged = {"X-User-Id": str(users.ids["victim"]), "X-Username": "victim"}
    url = base_url(posts)

    status, body = await post_article(url, forged)
    assert status == 401, body
    wrong_key = signed(forged, "POST", "/api/articles", INTERNAL_AUTH_KEY=KEY)
    assert (await post_article(url, wrong_key))[0] == 401
    # The signature covers the headers: another user's id under a valid signature is refused.
    other = str(users.ids["victim"] + 1)
    swapped = {**signed(forged, "POST", "/api/articles"), "X-User-Id": other}
    assert (await post_article(url, swapped))[0] == 401
    # A forged client address (per-IP limits) is refused as well.
    assert (await post_article(url, {CLIENT_IP_HEADER: "10.0.0.1"}))[0] == 401
    assert (await post_article(url, {**forged, internal_auth.HEADER: "v1.gateway.1.x"}))[0] == 401

    status, body = await post_article(url, signed(forged, "POST", "/api/articles"))
    assert status == 201, body


async def test_a_signature_replayed_elsewhere_or_late_is_401(
    posts: AppClient, users: Users
) -> None:
    await users.add("victim")
    identity = {"X-User-Id": str(users.ids["victim"]), "X-Username": "victim"}
    url = base_url(posts)

    for method, path, age in (
        ("GET", "/api/articles", 0),  # another method
        ("POST", "/api/articles/some-slug/comments", 0),  # another path
        ("POST", "/api/articles", internal_auth.MAX_AGE + 5),  # expired
        ("POST", "/api/articles", -internal_auth.MAX_AGE - 5),  # from the future
    ):
        headers = signed(identity, method, path, time.time() - age)
        status, body = await post_article(url, headers)
        assert status == 401, (method, path, age, body)
    assert (await post_article(url, signed(identity, "POST", "/api/articles")))[0] == 201


@pytest.mark.parametrize(
    ("service", "method", "path"),
    [
        ("auth", "GET", "/internal/sessions/revoked"),
        ("auth", "GET", "/internal/users?ids=1"),
        ("auth", "GET", "/internal/users/by-username/nobody"),
        ("social", "POST", "/internal/summary"),
        ("social", "PUT", "/internal/likes/1/1"),
    ],
)
async def test_an_internal_route_without_a_service_credential_is_401(
    auth_client: AppClient, social: AppClient, service: str, method: str, path: str
) -> None:
    url = base_url(auth_client if service == "auth" else social)
    async with aiohttp.ClientSession() as raw:
        status, _ = await call(raw, method, url + path, json={})
        assert status == 401
        wrong = internal_auth.sign(
            InternalKeys.from_env(Env({"INTERNAL_AUTH_KEY": KEY}), "test"), "posts", method, path
        )
        status, _ = await call(raw, method, url + path, headers={internal_auth.HEADER: wrong})
        assert status == 401
        if method == "GET":
            right = internal_auth.sign(run_internal_key(), "posts", method, path)
            status, _ = await call(raw, method, url + path, headers={internal_auth.HEADER: right})
            assert status == (404 if "nobody" in path else 200)


async def test_through_the_gateway_every_kind_of_call_works(
    api: aiohttp.ClientSession, running_stack: object
) -> None:
    """Signed by the gateway: reads, writes, calls between services, and chat's websocket."""
    jake = await signup(api, "jake")
    await signup(api, "anna")
    status, created = await call(api, "POST", "/api/articles", jake["token"], json=ARTICLE)
    assert status == 201, created
    slug = created["article"]["slug"]
    status, _ = await call(api, "POST", f"/api/articles/{slug}/favorite", jake["token"])
    assert status == 200
    status, _ = await call(api, "POST", "/api/profiles/anna/follow", jake["token"])
    assert status == 200
    status, page = await call(api, "GET", "/api/articles", jake["token"])
    assert status == 200 and page["articles"][0]["favorited"] is True
    status, chats = await call(api, "GET", "/api/chats", jake["token"])
    assert status == 200, chats
    async with api.ws_connect(f"/api/chat/ws?token={jake['token']}") as socket:
        hello = await socket.receive_json(timeout=5)
        assert hello["type"] == "hello"


def test_production_refuses_to_start_without_the_key() -> None:
    with pytest.raises(SettingsError, match="INTERNAL_AUTH_KEY"):
        InternalKeys.from_env(Env({}), "production")
    with pytest.raises(SettingsError, match="at least 32"):
        InternalKeys.from_env(Env({"INTERNAL_AUTH_KEY": "short"}), "production")
    with pytest.raises(SettingsError, match="INTERNAL_AUTH_PREVIOUS_KEYS"):
        InternalKeys.from_env(
            Env({"INTERNAL_AUTH_KEY": KEY, "INTERNAL_AUTH_PREVIOUS_KEYS": "short"}), "production"
        )
    assert InternalKeys.from_env(Env({"INTERNAL_AUTH_KEY": KEY}), "production").signing == (
        KEY.encode()
    )
    assert KEY not in repr(InternalKeys.from_env(Env({"INTERNAL_AUTH_KEY": KEY}), "production"))


def test_a_rotation_accepts_the_previous_key_and_signs_with_the_new_one() -> None:
    old, new = "o" * 40, "n" * 40
    before = InternalKeys.from_env(Env({"INTERNAL_AUTH_KEY": old}), "production")
    during = InternalKeys.from_env(
        Env({"INTERNAL_AUTH_KEY": new, "INTERNAL_AUTH_PREVIOUS_KEYS": old}), "production"
    )
    after = InternalKeys.from_env(Env({"INTERNAL_AUTH_KEY": new}), "production")
    by_old = internal_auth.sign(before, "gateway", "GET", "/api/user", {"X-User-Id": "3"})
    by_new = internal_auth.sign(during, "gateway", "GET", "/api/user", {"X-User-Id": "3"})
    for proof in (by_old, by_new):
        assert internal_auth.verify(during, proof, "GET", "/api/user", {"X-User-Id": "3"})
    assert internal_auth.verify(after, by_new, "GET", "/api/user", {"X-User-Id": "3"})
    with pytest.raises(internal_auth.Refused):
        internal_auth.verify(after, by_old, "GET", "/api/user", {"X-User-Id": "3"})


def test_the_development_key_is_one_per_data_dir(tmp_path: Path) -> None:
    env = Env({"DATA_DIR": str(tmp_path)})
    first = InternalKeys.from_env(env, "development")
    assert InternalKeys.from_env(env, "development") == first
    assert (tmp_path / "internal" / "auth.key").stat().st_mode & 0o077 == 0
    other = InternalKeys.from_env(Env({"DATA_DIR": str(tmp_path / "other")}), "development")
    assert other != first


@pytest.mark.parametrize(
    ("enforce", "headers", "path", "expected"),
    [
        # Enforced (the default): nothing unsigned is believed.
        (True, {"X-User-Id": "3"}, "/api/user", 401),
        (True, {}, "/internal/users", 401),
        # While a release that did not sign still runs: its unsigned calls go through...
        (False, {"X-User-Id": "3"}, "/api/user", 200),
        (False, {}, "/internal/users", 200),
        # ...but a signature that is sent is still checked.
        (False, {"X-User-Id": "3", internal_auth.HEADER: "v1.gateway.1.x"}, "/api/user", 401),
    ],
)
async def test_unsigned_calls_pass_only_while_enforcement_is_off(
    aiohttp_client: Any, enforce: bool, headers: dict[str, str], path: str, expected: int
) -> None:
    keys = InternalKeys.from_env(Env({"INTERNAL_AUTH_KEY": KEY}), "test")
    checking = internal_auth.internal_auth_middleware(keys, enforce=enforce)
    app = web.Application(middlewares=[error_middleware, checking])

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_get("/{tail:.*}", answer)
    client = await aiohttp_client(app, middlewares=())  # sends what it is given, unsigned
    async with client.get(path, headers=headers) as response:
        assert response.status == expected
