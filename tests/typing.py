"""Type names the tests share."""

from typing import TypeAlias

from aiohttp import web
from aiohttp.test_utils import TestClient

# A test client of one of our apps (pytest-aiohttp's `aiohttp_client` gives the same).
AppClient: TypeAlias = TestClient[web.Request, web.Application]
