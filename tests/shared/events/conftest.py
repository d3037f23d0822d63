"""Fixtures of the event channel's tests: a schema of their own with the event tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.data.postgres import init_connection
from shared.events.outbox import install_event_tables
from tests.infra import Infra

SCHEMA = "evtest"


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    """A schema of its own with the event tables and a table of handler effects."""
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    await install_event_tables(admin, SCHEMA)
    await admin.execute(f"CREATE TABLE {SCHEMA}.effects (event_id uuid, handled_by text)")
    pool = await asyncpg.create_pool(
        infra.database_url,
        min_size=1,
        max_size=8,
        init=init_connection,
        server_settings={"search_path": SCHEMA},
    )
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
        await admin.close()
