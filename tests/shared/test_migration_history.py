"""Migrations never change once applied: those of the reference release are here, unchanged."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.upgrade.reference import UPGRADE_REFERENCE

ROOT = Path(__file__).resolve().parents[2]


def git(*arguments: str) -> bytes:
    done = subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, check=False)
    assert done.returncode == 0, (
        f"git {' '.join(arguments)}: {done.stderr.decode().strip()} (the tests need the "
        f"history down to the reference release {UPGRADE_REFERENCE}: `git fetch --unshallow`)"
    )
    return done.stdout


def reference_migrations() -> list[str]:
    listed = git("ls-tree", "-r", "--name-only", UPGRADE_REFERENCE).decode().splitlines()
    return [path for path in listed if "/migrations/" in path and path.endswith(".sql")]


def test_the_reference_release_has_migrations_of_every_kind() -> None:
    folders = {path.rsplit("/", 1)[0] for path in reference_migrations()}
    assert folders >= {
        "auth_service/migrations",
        "posts_service/migrations",
        "social_service/migrations",
        "chat_service/migrations",
        "shared/events/migrations",
    }


def test_no_migration_of_the_reference_release_was_changed_or_removed() -> None:
    differing = []
    for path in reference_migrations():
        released = git("show", f"{UPGRADE_REFERENCE}:{path}")
        here = ROOT / path
        if not here.exists():
            differing.append(f"{path} was removed")
        elif here.read_bytes() != released:
            differing.append(f"{path} differs from {UPGRADE_REFERENCE}")
    assert differing == [], (
        "a migration never changes once released; restore it and add a new one instead: "
        + "; ".join(differing)
    )
