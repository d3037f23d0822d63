"""The notification tests' shared stack, as each test finds it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.infra import Infra


@pytest.fixture(autouse=True)
async def fresh_event_ids(clean_state: None, infra: Infra) -> AsyncIterator[None]:
    """Chat's event log numbers its events from where earlier tests left them: the replicas
    of the shared stack remember the ids they delivered (two minutes), and would take a
    renumbered event for one they had already delivered (in production ids never restart)."""
    connection = await asyncpg.connect(infra.stack_database_url)
    try:
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('chat.live_events', 'id'), $1)",
            int(time.time() * 1000),
        )
    finally:
        await connection.close()
    yield
