"""An auth_service app from its factory, with cheap password hashing for speed."""

from __future__ import annotations

import pytest
from pytest_aiohttp import AiohttpClient

from auth_service.app import create_app
from tests.factories import DEFAULT_IMAGE, auth_settings
from tests.infra import Infra
from tests.typing import AppClient

# Imported from here by chat_service's tests.
__all__ = ["DEFAULT_IMAGE", "auth"]


@pytest.fixture
async def auth(infra: Infra, aiohttp_client: AiohttpClient) -> AppClient:
    return await aiohttp_client(create_app(auth_settings(infra)))
