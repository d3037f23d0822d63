"""Real services on real sockets for tests that compose across services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from auth_service.app import create_app as create_auth
from posts_service.app import create_app as create_posts
from posts_service.settings import PostsSettings
from shared.settings import Env
from social_service.app import create_app as create_social
from social_service.settings import SocialSettings
from tests.factories import as_user, auth_settings, register
from tests.infra import Infra
from tests.typing import AppClient
from tests.vouching import VOUCHED

FAST_EVENTS = {"block_ms": 50, "retry_delay_ms": 50, "claim_idle_ms": 1000}


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[AppClient]:
    """A client whose server is the app on a real socket; closing the client closes both."""
    client = TestClient(TestServer(app), middlewares=VOUCHED)
    try:
        # Inside: an app that fails to start must not leave the client's session open.
        await client.start_server()
        yield client
    finally:
        await client.close()


def base_url(client: AppClient) -> str:
    return f"http://127.0.0.1:{client.server.port}"


@pytest.fixture
async def auth_client(infra: Infra) -> AsyncIterator[AppClient]:
    async with serving(create_auth(auth_settings(infra))) as client:
        yield client


@pytest.fixture
async def social(infra: Infra, auth_client: AppClient) -> AsyncIterator[AppClient]:
    settings = SocialSettings.from_env(Env(infra.env(AUTH_URL=base_url(auth_client))))
    async with serving(create_social(settings, **FAST_EVENTS)) as client:
        yield client


@pytest.fixture
async def posts(
    infra: Infra, auth_client: AppClient, social: AppClient, tmp_path: Path
) -> AsyncIterator[AppClient]:
    env = infra.env(
        AUTH_URL=base_url(auth_client),
        SOCIAL_URL=base_url(social),
        MEDIA_DIR=str(tmp_path / "media"),
    )
    async with serving(create_posts(PostsSettings.from_env(Env(env)), **FAST_EVENTS)) as client:
        yield client


class Users:
    """Registers users through auth_service and hands out the headers the gateway would send."""

    def __init__(self, auth: AppClient) -> None:
        self.auth = auth
        self.headers: dict[str, dict[str, str]] = {}
        self.ids: dict[str, int] = {}

    async def add(self, *names: str) -> None:
        for name in names:
            user = await register(self.auth, name)
            self.headers[name] = as_user(user)
            self.ids[name] = int(self.headers[name]["X-User-Id"])

    def __getitem__(self, name: str) -> dict[str, str]:
        return self.headers[name]


@pytest.fixture
async def users(auth_client: AppClient) -> Users:
    return Users(auth_client)
