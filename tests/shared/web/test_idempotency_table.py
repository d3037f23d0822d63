"""The idempotency table, installed from shared/ as the event tables are: the same shape as
the one posts' and chat's own migrations created, and a no-op where they did."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest

from shared.data.migrations import migrate
from shared.service.app import install_idempotency_table

ROOT = Path(__file__).resolve().parents[3]
# The service migrations that created the table before it was installed from shared/.
TWINS = [
    ROOT / "posts_service/migrations/002_idempotency_keys.sql",
    ROOT / "chat_service/migrations/004_idempotency_keys.sql",
]


async def shape(db: asyncpg.Connection, schema: str) -> tuple[list[tuple[str, ...]], list[str]]:
    columns = await db.fetch(
        """
        SELECT column_name, data_type, is_nullable, coalesce(column_default, '')
        FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = 'idempotency_keys'
        ORDER BY ordinal_position
        """,
        schema,
    )
    indexes = await db.fetch(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'idempotency_keys'",
        schema,
    )
    return (
        [tuple(row) for row in columns],
        sorted(row[0].replace(f"{schema}.", "") for row in indexes),
    )


@pytest.fixture
async def schemas(db: asyncpg.Connection) -> list[str]:
    names = ["idemtest_shared", "idemtest_service"]
    for name in names:
        await db.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    return names


@pytest.mark.parametrize("twin", TWINS, ids=lambda path: path.parent.parent.name)
async def test_the_installed_table_has_the_shape_the_services_migrations_gave_it(
    db: asyncpg.Connection, schemas: list[str], tmp_path: Path, twin: Path
) -> None:
    installed, migrated = schemas
    await install_idempotency_table(db, installed)
    shutil.copy(twin, tmp_path / "001_idempotency_keys.sql")
    await migrate(db, migrated, tmp_path)
    assert await shape(db, installed) == await shape(db, migrated)
    assert (await shape(db, installed))[0]  # the table is there, with columns


async def test_installing_where_a_service_migration_made_the_table_keeps_its_rows(
    db: asyncpg.Connection, schemas: list[str], tmp_path: Path
) -> None:
    _, schema = schemas
    shutil.copy(TWINS[0], tmp_path / "001_idempotency_keys.sql")
    await migrate(db, schema, tmp_path)
    await db.execute(
        f"INSERT INTO {schema}.idempotency_keys (user_id, key, request_hash, token, lease_until)"
        " VALUES (1, 'k', 'h', 't', now())"
    )
    await install_idempotency_table(db, schema)
    await install_idempotency_table(db, schema)  # once recorded, never applied again
    assert await db.fetchval(f"SELECT count(*) FROM {schema}.idempotency_keys") == 1
    recorded = await db.fetchval(f"SELECT count(*) FROM {schema}.idempotency_migrations")
    assert recorded == 1
