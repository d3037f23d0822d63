"""Fixtures of other test folders that the hardening tests use as they are."""

from tests.gateway.conftest import echoes, make_gateway  # noqa: F401
