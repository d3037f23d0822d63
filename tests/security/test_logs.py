"""No secret reaches the logs: a whole run of a stack, its every output line searched."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp

from devstack import stack
from devstack.embedded import free_port
from tests.factories import FAST_HASHING, call
from tests.infra import Infra
from tests.mail import token_in, wait_for_mail

PASSWORD = "Sup3r-secret-pw"
WRONG_PASSWORD = "Wr0ng-guess-pw"
NEW_PASSWORD = "N3w-secret-pw-after-reset"
OVERSIZED_MARK = "0versizedAuthHeaderSecret"


def start_stack(infra: Infra, data_dir: Path) -> tuple[str, list[stack.ProcessSpec]]:
    base_env = infra.env(
        DATA_DIR=str(data_dir),
        LOG_LEVEL="debug",
        RATE_LIMIT_ANON="0",
        RATE_LIMIT_USER="0",
        **FAST_HASHING,
    )
    ports = {name: free_port() for name in stack.SERVICES}
    ports["gateway"] = free_port()
    return f"http://127.0.0.1:{ports['gateway']}", stack.plan(base_env, {}, ports)


async def use_every_secret(api: aiohttp.ClientSession, infra: Infra) -> list[str]:
    """Signs up, fails and succeeds at logging in, refreshes, confirms, resets: returns every
    secret that went over the wire."""
    secrets = [PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, OVERSIZED_MARK]
    user = {"username": "jake", "email": "jake@example.com", "password": PASSWORD}
    status, body = await call(api, "POST", "/api/users", json={"user": user})
    assert status == 201, body
    secrets += [body["user"]["token"], body["user"]["refreshToken"]]
    confirm = token_in(await wait_for_mail(infra.mail_api, "jake@example.com", "Confirm"))
    secrets.append(confirm)
    assert (await call(api, "POST", "/api/auth/confirm", json={"token": confirm}))[0] == 200

    for email, password in [("jake@example.com", WRONG_PASSWORD), ("nobody@example.com", PASSWORD)]:
        login = {"user": {"email": email, "password": password}}
        assert (await call(api, "POST", "/api/users/login", json=login))[0] in (401, 403, 422)
    login = {"user": {"email": "jake@example.com", "password": PASSWORD}}
    status, body = await call(api, "POST", "/api/users/login", json=login)
    assert status == 200, body
    token, refresh = body["user"]["token"], body["user"]["refreshToken"]
    secrets += [token, refresh]
    status, body = await call(api, "POST", "/api/auth/refresh", json={"refreshToken": refresh})
    assert status == 200, body
    secrets += [value for value in body.get("user", body).values() if isinstance(value, str)]
    # A spent refresh token again: reuse detection logs, and must not log the token. It ends
    # the session, so the rest goes on with a new one.
    assert (await call(api, "POST", "/api/auth/refresh", json={"refreshToken": refresh}))[0] == 401
    status, body = await call(api, "POST", "/api/users/login", json=login)
    assert status == 200, body
    token = body["user"]["token"]
    secrets += [token, body["user"]["refreshToken"]]

    # Oversized Authorization headers (the server's parser refuses them): junk, and a valid
    # token with junk after it.
    for header in (f"Token {OVERSIZED_MARK}{'A' * 12000}", f"Token {token}{'A' * 12000}"):
        status, _ = await call(api, "GET", "/api/user", headers={"Authorization": header})
        assert 400 <= status < 500
    assert (await call(api, "GET", "/api/user", token))[0] == 200
    # The websocket takes its token in the query string, where access logs look.
    async with api.ws_connect(f"/api/chat/ws?token={token}") as ws:
        await ws.receive(timeout=10)

    status, _ = await call(api, "POST", "/api/auth/password-reset", json={"email": user["email"]})
    assert status == 202
    reset = token_in(await wait_for_mail(infra.mail_api, "jake@example.com", "Reset"))
    secrets.append(reset)
    status, body = await call(
        api,
        "POST",
        "/api/auth/password-reset/confirm",
        json={"token": reset, "password": NEW_PASSWORD},
    )
    assert status in (200, 204), body
    return secrets


def pieces(secret: str) -> list[str]:
    """The secret, and for a JWT its payload and signature (a log may cut a token short)."""
    parts = secret.split(".")
    return [secret] + ([parts[1], parts[2]] if len(parts) == 3 else [])


async def test_a_whole_run_logs_no_password_token_or_mailed_link(
    infra: Infra, tmp_path: Path
) -> None:
    url, specs = start_stack(infra, tmp_path)
    processes = [stack.start(spec, tmp_path) for spec in specs]
    try:
        for spec, process in zip(specs, processes, strict=True):
            ready = f"http://127.0.0.1:{spec.port}/health/ready"
            await asyncio.to_thread(stack.wait_ready, ready, 60, process)
        async with aiohttp.ClientSession(base_url=url) as api:
            secrets = await use_every_secret(api, infra)
    finally:
        await asyncio.to_thread(stack.stop, processes)

    logs = {spec.name: (tmp_path / f"{spec.name}.log").read_text() for spec in specs}
    # The capture works: every process's output is there.
    assert all('"msg": "starting"' in text for text in logs.values()), logs
    leaks = [
        (name, piece[:12])
        for name, text in logs.items()
        for secret in secrets
        for piece in pieces(secret)
        if piece in text
    ]
    # Even the start of a token is too much: a link's token or an Authorization value.
    shown = re.compile(r"token=[A-Za-z0-9_-]{8}|(Token|Bearer) [A-Za-z0-9_-]{8}")
    partial = [(name, match[0]) for name, text in logs.items() for match in shown.finditer(text)]
    assert not leaks, leaks
    assert not partial, partial[:5]
