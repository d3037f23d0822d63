"""The deployment's tests read files and run linters; only the gunicorn test needs servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    """Replaces the suite's clean slate (tests/conftest.py), which would start PostgreSQL,
    Redis and SMTP for tests that read YAML; the gunicorn test asks for `infra` itself and
    checks nothing that another test's leftovers could change."""
    yield
