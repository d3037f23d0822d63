"""The migration runner: ordered, recorded, idempotent, and safe with concurrent runners."""

import asyncio
import hashlib
import subprocess
from pathlib import Path

import asyncpg
import pytest

from shared.data.migrations import MigrationError, inspect_migrations, load_migrations, migrate
from tests.infra import Infra


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    (tmp_path / "001_things.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    (tmp_path / "002_more.sql").write_text("ALTER TABLE things ADD COLUMN name text;")
    return tmp_path


@pytest.fixture
async def fresh_schema(db: asyncpg.Connection) -> str:
    await db.execute("DROP SCHEMA IF EXISTS migtest CASCADE")
    return "migtest"


async def test_migrations_apply_in_order_and_are_recorded(
    db: asyncpg.Connection, migrations_dir: Path, fresh_schema: str
) -> None:
    applied = await migrate(db, fresh_schema, migrations_dir)
    assert applied == ["001_things.sql", "002_more.sql"]
    await db.execute("INSERT INTO migtest.things (id, name) VALUES (1, 'pan')")
    versions = await db.fetch("SELECT version FROM migtest.schema_migrations ORDER BY version")
    assert [row["version"] for row in versions] == [1, 2]


async def test_running_migrations_again_changes_nothing(
    db: asyncpg.Connection, migrations_dir: Path, fresh_schema: str
) -> None:
    await migrate(db, fresh_schema, migrations_dir)
    assert await migrate(db, fresh_schema, migrations_dir) == []


async def test_concurrent_runners_apply_each_migration_once(
    infra: Infra, migrations_dir: Path, fresh_schema: str
) -> None:
    connections = [await asyncpg.connect(infra.database_url) for _ in range(5)]
    try:
        results = await asyncio.gather(
            *(migrate(c, fresh_schema, migrations_dir) for c in connections)
        )
    finally:
        for connection in connections:
            await connection.close()
    applied = [name for result in results for name in result]
    assert sorted(applied) == ["001_things.sql", "002_more.sql"]


async def test_an_edited_applied_migration_is_refused(
    db: asyncpg.Connection, migrations_dir: Path, fresh_schema: str
) -> None:
    await migrate(db, fresh_schema, migrations_dir)
    (migrations_dir / "001_things.sql").write_text("CREATE TABLE other (id int);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(db, fresh_schema, migrations_dir)


async def test_a_failing_migration_leaves_no_trace(
    db: asyncpg.Connection, migrations_dir: Path, fresh_schema: str
) -> None:
    (migrations_dir / "003_broken.sql").write_text(
        "CREATE TABLE half (id int); SELECT * FROM missing_table;"
    )
    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate(db, fresh_schema, migrations_dir)
    assert await db.fetchval("SELECT to_regclass('migtest.half')") is None
    assert await db.fetchval("SELECT count(*) FROM migtest.schema_migrations") == 2


def test_a_badly_named_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "first.sql").write_text("SELECT 1;")
    from shared.data.migrations import load_migrations

    with pytest.raises(MigrationError, match=r"NNN_name\.sql"):
        load_migrations(tmp_path)


async def test_a_role_that_owns_only_its_schema_can_migrate_it(
    infra: Infra, db: asyncpg.Connection, migrations_dir: Path, fresh_schema: str
) -> None:
    # As the deployment's init script sets it up: the role owns its schema and may connect,
    # but may not create anything at the database level.
    role = "migtest_owner"
    await db.execute(f"DROP ROLE IF EXISTS {role}")
    await db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'migtest'")
    database = await db.fetchval("SELECT current_database()")
    await db.execute(f'REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC, {role}')
    await db.execute(f"CREATE SCHEMA {fresh_schema} AUTHORIZATION {role}")
    try:
        owner = await asyncpg.connect(infra.database_url, user=role, password="migtest")
        try:
            applied = await migrate(owner, fresh_schema, migrations_dir)
        finally:
            await owner.close()
        assert applied == ["001_things.sql", "002_more.sql"]
    finally:
        await db.execute(f"DROP SCHEMA {fresh_schema} CASCADE")
        await db.execute(f"DROP ROLE {role}")


async def test_every_applied_migration_is_checked_before_any_pending_one_runs(
    db: asyncpg.Connection, migrations_dir: Path, fresh_schema: str
) -> None:
    await migrate(db, fresh_schema, migrations_dir)
    (migrations_dir / "001_things.sql").write_text("CREATE TABLE things (id bigint PRIMARY KEY);")
    (migrations_dir / "003_pending.sql").write_text("CREATE TABLE pending (id int);")

    with pytest.raises(MigrationError) as refused:
        await migrate(db, fresh_schema, migrations_dir)

    assert str(migrations_dir / "001_things.sql") in str(refused.value)
    assert "002_more.sql" not in str(refused.value)
    assert await db.fetchval("SELECT to_regclass('migtest.pending')") is None
    assert await db.fetchval("SELECT count(*) FROM migtest.schema_migrations") == 2


async def test_a_migration_applied_by_a_later_release_is_no_reason_to_refuse(
    db: asyncpg.Connection, migrations_dir: Path, fresh_schema: str
) -> None:
    # A rollback: the earlier release runs on the schema the later one migrated further.
    await migrate(db, fresh_schema, migrations_dir)
    (migrations_dir / "002_more.sql").unlink()

    assert await migrate(db, fresh_schema, migrations_dir) == []


async def test_inspecting_a_schema_that_was_never_migrated_lists_everything_as_pending(
    db: asyncpg.Connection, migrations_dir: Path, fresh_schema: str
) -> None:
    state = await inspect_migrations(db, fresh_schema, migrations_dir)

    assert [m.name for m in state.pending] == ["001_things.sql", "002_more.sql"]
    assert state.changed == []
    assert await db.fetchval("SELECT to_regnamespace('migtest')") is None


CHAT_MIGRATIONS = Path(__file__).resolve().parents[3] / "chat_service" / "migrations"
# chat's 003_rules.sql as first released (13d24dd), before it was edited in 93445dc.
FIRST_CHAT_RULES = "a435353052f58b7e2ceb0d1e9e61e188a806f55dfbacd5e4949ca8cb080ca04f"


def first_chat_rules() -> str:
    return subprocess.run(
        ["git", "show", "13d24dd:chat_service/migrations/003_rules.sql"],
        cwd=CHAT_MIGRATIONS,
        capture_output=True,
        check=True,
        text=True,
    ).stdout


def test_the_superseded_text_of_chats_rules_is_the_one_first_released() -> None:
    assert hashlib.sha256(first_chat_rules().encode()).hexdigest() == FIRST_CHAT_RULES
    (rules,) = [m for m in load_migrations(CHAT_MIGRATIONS) if m.name == "003_rules.sql"]
    assert rules.superseded == {FIRST_CHAT_RULES}


async def test_a_database_that_applied_an_edited_migrations_first_text_is_upgraded(
    db: asyncpg.Connection, tmp_path: Path, fresh_schema: str
) -> None:
    # A database made between 13d24dd and 93445dc: chat's migrations with the first 003.
    first = first_chat_rules()
    for name in ("001_chats.sql", "002_messages.sql"):
        (tmp_path / name).write_text((CHAT_MIGRATIONS / name).read_text())
    (tmp_path / "003_rules.sql").write_text(first)
    await migrate(db, fresh_schema, tmp_path)
    await db.execute(
        """INSERT INTO migtest.attachments (id, owner_id, filename, content_type, size)
           VALUES ('shown', 1, 'a.txt', 'text/plain', 1), ('never', 1, 'b.txt', 'text/plain', 1)"""
    )
    await db.execute(
        """INSERT INTO migtest.users (id, username) VALUES (1, 'anna');
           INSERT INTO migtest.chats (kind, title) VALUES ('group', 'Soups');
           INSERT INTO migtest.messages (chat_id, seq, author_id, body, attachment_id)
           SELECT id, 1, 1, 'look', 'shown' FROM migtest.chats"""
    )

    applied = await migrate(db, fresh_schema, CHAT_MIGRATIONS)

    assert "006_rules_as_edited.sql" in applied
    attached = await db.fetch("SELECT id, attached FROM migtest.attachments ORDER BY id")
    assert [(r["id"], r["attached"]) for r in attached] == [("never", False), ("shown", True)]
    indexes = await db.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = 'migtest'")
    names = {row["indexname"] for row in indexes}
    assert "attachments_unattached" in names and "attachments_by_age" not in names
    # Any other text of an applied migration is still refused.
    (tmp_path / "003_rules.sql").write_text(first + "\n-- edited again\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(db, fresh_schema, tmp_path)
