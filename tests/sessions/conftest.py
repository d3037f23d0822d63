"""auth_service and two gateway replicas on fixed ports, with a Redis of their own.

The ports stay the same across restarts, so a test can stop and start auth (with another
signing key), either gateway, or Redis (which keeps nothing on disk) while clients hold
tokens, exactly as in a deployment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth_service.app import create_app as create_auth
from devstack.embedded import free_port, start_valkey
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from shared.settings import Env
from tests.factories import auth_settings
from tests.infra import Infra

PASSWORD = "jakejake1"


def private_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class SessionStack:
    def __init__(self, infra: Infra, work_dir: Path, **auth_env: str) -> None:
        self.infra = infra
        self.work_dir = work_dir
        self.auth_port = free_port()
        self.gateway_ports = [free_port(), free_port()]
        self.redis_port = free_port()
        self.auth_env = {"PUBLIC_URL": self.gateway_url(0), **auth_env}
        self.valkey: Any = None
        self.auth: TestServer | None = None
        self.gateways: list[TestServer | None] = [None, None]
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def gateway_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.gateway_ports[index]}"

    def env(self, **extra: str) -> dict[str, str]:
        return self.infra.env(REDIS_URL=self.redis_url, **extra)

    # Each part starts and stops on its own.

    def start_redis(self) -> None:
        # persist=False: nothing survives a restart, as with a Redis that keeps no disk state
        self.valkey, _ = start_valkey(self.work_dir / "valkey", self.redis_port, persist=False)

    def stop_redis(self) -> None:
        self.valkey.stop()
        self.valkey = None

    async def start_auth(self, **extra: str) -> None:
        settings = auth_settings(self.infra, REDIS_URL=self.redis_url, **{**self.auth_env, **extra})
        self.auth = TestServer(create_auth(settings), port=self.auth_port)
        await self.auth.start_server()

    async def stop_auth(self) -> None:
        assert self.auth is not None
        await self.auth.close()
        self.auth = None

    async def start_gateway(self, index: int) -> None:
        env = self.env(
            AUTH_URL=f"http://127.0.0.1:{self.auth_port}",
            RATE_LIMIT_ANON="0",
            RATE_LIMIT_USER="0",
        )
        app = create_gateway(GatewaySettings.from_env(Env(env)))
        server = TestServer(app, port=self.gateway_ports[index])
        await server.start_server()
        self.gateways[index] = server

    async def stop_gateway(self, index: int) -> None:
        server = self.gateways[index]
        assert server is not None
        await server.close()
        self.gateways[index] = None

    async def restart_gateways(self) -> None:
        for index in range(len(self.gateways)):
            await self.stop_gateway(index)
            await self.start_gateway(index)

    async def close(self) -> None:
        await self.http.close()
        for index, server in enumerate(self.gateways):
            if server is not None:
                await self.stop_gateway(index)
        if self.auth is not None:
            await self.stop_auth()
        if self.valkey is not None:
            self.stop_redis()

    # Calls through a gateway, as a client makes them.

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        json: Any = None,
        gateway: int = 0,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Token {token}"} if token else {}
        async with self.http.request(
            method, self.gateway_url(gateway) + path, json=json, headers=headers
        ) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    async def register(self, username: str) -> dict[str, Any]:
        status, body = await self.call(
            "POST",
            "/api/users",
            json={
                "user": {
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": PASSWORD,
                }
            },
        )
        assert status == 201, body
        user: dict[str, Any] = body["user"]
        return user

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        status, body = await self.call(
            "POST",
            "/api/users/login",
            json={"user": {"email": f"{username}@example.com", "password": password}},
        )
        assert status == 200, body
        user: dict[str, Any] = body["user"]
        return user

    async def statuses(self, token: str) -> list[int]:
        """What each gateway answers a token on GET /api/user."""
        return [(await self.call("GET", "/api/user", token, gateway=i))[0] for i in range(2)]


async def started_stack(infra: Infra, work_dir: Path, **auth_env: str) -> SessionStack:
    stack = SessionStack(infra, work_dir, **auth_env)
    stack.start_redis()
    await stack.start_auth()
    for index in range(2):
        await stack.start_gateway(index)
    return stack


@pytest.fixture
async def sessions(infra: Infra, tmp_path: Path) -> AsyncIterator[SessionStack]:
    stack = await started_stack(infra, tmp_path)
    try:
        yield stack
    finally:
        await stack.close()
