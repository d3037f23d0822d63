"""`make admin NAME=alice ROLE=moderator`: `python -m auth_service.admin` against the database
of `make run` (the embedded server in DATA_DIR, started for the command if it is not running),
or against DATABASE_URL / REDIS_URL when they are set."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from auth_service import admin
from devstack import stack
from devstack.embedded import start_postgres
from devstack.migrate import migrate_all
from shared.settings import Env


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: make admin NAME=<username> ROLE=<user|moderator|admin>", file=sys.stderr)
        return 2
    env = Env()
    started = None
    if not env.text("DATABASE_URL", ""):
        data_dir = Path(env.text("DATA_DIR", str(stack.ROOT / ".data"))).resolve()
        started, os.environ["DATABASE_URL"] = start_postgres(data_dir / "postgres")
        asyncio.run(migrate_all(os.environ["DATABASE_URL"]))
    if not env.text("REDIS_URL", ""):
        # The Valkey of `make run`; when it is not running, the gateways learn of the ended
        # sessions from the database on their next resync.
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{env.integer('VALKEY_PORT', 6390)}/0"
    try:
        return asyncio.run(admin.main(argv[0], argv[1]))
    finally:
        if started is not None and not started.reused:
            started.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
