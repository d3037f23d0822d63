"""The asyncpg pool of a service, bound to the service's own schema."""

from __future__ import annotations

import json

import asyncpg

from shared.settings import CommonSettings


async def init_connection(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _skip_reset(connection: asyncpg.Connection) -> None:
    """Nothing to reset: see `create_pool`. (asyncpg still rolls back an open transaction.)"""


async def create_pool(settings: CommonSettings, schema: str) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        settings.database_url.get(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        init=init_connection,
        # The schema is fixed per connection at start-up, so no connection carries session
        # state that a later user must not see and the pool can skip its reset round trip.
        server_settings={"search_path": f"{schema},public", "application_name": settings.service},
        reset=_skip_reset,
        command_timeout=30,
    )
    return pool
