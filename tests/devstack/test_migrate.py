"""`python -m devstack.migrate`: every service's migrations checked before any service migrates."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from devstack import migrate as suite
from shared.data.migrations import MigrationError
from tests.infra import Infra

DATABASE = "chopchop_test_migrate"


@pytest.fixture
async def fresh_database(infra: Infra, db: asyncpg.Connection) -> AsyncIterator[str]:
    """A database of its own with every migration of this checkout applied."""
    await db.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await db.execute(f"CREATE DATABASE {DATABASE}")
    url = urlunsplit(urlsplit(infra.database_url)._replace(path=f"/{DATABASE}"))
    await suite.migrate_all(url)
    try:
        yield url
    finally:
        await db.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


@pytest.fixture
def next_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of every service's migrations that devstack.migrate reads instead of the real ones,
    with a new migration pending in the first service it migrates."""
    for package, _events in suite.SCHEMAS.values():
        shutil.copytree(suite.ROOT / package / "migrations", tmp_path / package / "migrations")
    first = next(iter(suite.SCHEMAS.values()))[0]
    (tmp_path / first / "migrations" / "900_probe.sql").write_text("CREATE TABLE probe (id int);")
    monkeypatch.setattr(suite, "ROOT", tmp_path)
    return tmp_path


async def tables(url: str) -> list[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            """SELECT schemaname || '.' || tablename FROM pg_tables
               WHERE schemaname = ANY($1::text[]) ORDER BY 1""",
            list(suite.SCHEMAS),
        )
        return [row[0] for row in rows]
    finally:
        await connection.close()


async def test_migrating_again_changes_nothing(fresh_database: str) -> None:
    before = await tables(fresh_database)

    applied = await suite.migrate_all(fresh_database)

    assert applied == {schema: [] for schema in suite.SCHEMAS}
    assert await tables(fresh_database) == before


async def test_a_changed_migration_of_the_last_service_stops_every_service_from_migrating(
    fresh_database: str, next_release: Path
) -> None:
    last = list(suite.SCHEMAS.values())[-1][0]
    edited = sorted((next_release / last / "migrations").glob("*.sql"))[0]
    edited.write_text(edited.read_text() + "\n-- edited after release\n")
    before = await tables(fresh_database)

    with pytest.raises(MigrationError) as refused:
        await suite.migrate_all(fresh_database)

    assert str(edited) in str(refused.value)
    assert await tables(fresh_database) == before  # the first service's probe was not applied


async def test_the_check_names_what_is_pending_and_changes_nothing(
    fresh_database: str, next_release: Path
) -> None:
    first_schema = next(iter(suite.SCHEMAS))
    before = await tables(fresh_database)

    pending = await suite.check_database(fresh_database)

    assert pending == {schema: [] for schema in suite.SCHEMAS} | {first_schema: ["900_probe.sql"]}
    assert await tables(fresh_database) == before


async def test_the_command_refuses_a_changed_migration_with_a_message_naming_it(
    fresh_database: str,
) -> None:
    # The real files against a record that says another text was applied.
    connection = await asyncpg.connect(fresh_database)
    try:
        await connection.execute(
            "UPDATE chat.schema_migrations SET checksum = 'other' WHERE version = 1"
        )
    finally:
        await connection.close()

    for arguments in (["--check"], []):
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "devstack.migrate", *arguments],
            cwd=suite.ROOT,
            env={**os.environ, "DATABASE_URL": fresh_database, "PYTHONPATH": str(suite.ROOT)},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 1, done
        assert "chat_service/migrations/001_chats.sql changed after it was applied" in done.stderr
