"""Two releases on one data folder: the reference release's source tree, and each run as
`make run` runs it (`python -m devstack` of that tree), on ports picked at run time.

The stores belong to the test: one embedded PostgreSQL and one Valkey (persistent), which
every run is pointed at, so that the test reads the database between runs and a run's stop
never loses what Redis holds. Everything else (keys, media, attachments, logs) is in the
shared DATA_DIR, as an operator's `.data/` is.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from packaging.requirements import Requirement

from devstack import stack
from devstack.embedded import free_port, start_postgres, start_valkey, valkey_pid, watch_parent
from devstack.migrate import SCHEMAS
from tests.factories import FAST_HASHING

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def git(*arguments: str) -> bytes:
    done = subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"git {' '.join(arguments)}: {done.stderr.decode().strip()} (the upgrade test needs "
            "the history down to the reference release: `git fetch --unshallow`)"
        )
    return done.stdout


def check_out(reference: str, into: Path) -> Path:
    """The reference release's files (`git archive`: no worktree to register or to clean up)."""
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(git("archive", "--format=tar", reference))) as archive:
        archive.extractall(into, filter="data")
    return into


def applicable_pins(lock: Path) -> set[str]:
    """The lines of a lock that this interpreter installs (a pin whose marker is false here,
    such as a backport for an older Python, changes nothing for it)."""
    pins = set()
    for line in lock.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        marker = Requirement(line).marker
        if marker is None or marker.evaluate():
            pins.add(line)
    return pins


def python_for(tree: Path, venvs: Path) -> str:
    """This checkout's interpreter when the tree pins the same dependencies for it, else a
    venv of the tree's own lock, made once."""
    lock = tree / "requirements.lock"
    if applicable_pins(lock) == applicable_pins(ROOT / "requirements.lock"):
        return sys.executable
    venv = venvs / tree.name
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(lock)], check=True
        )
    return str(python)


@dataclass(frozen=True)
class Release:
    name: str
    tree: Path
    python: str


@dataclass
class Site:
    """The stores, the data folder and the ports that every run of every release shares."""

    root: Path
    database_url: str
    redis_url: str
    ports: dict[str, int]
    owned: list[Any] = field(default_factory=list)
    running: tuple[Release, subprocess.Popen[bytes]] | None = None
    runs: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def env(self, release: Release) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(release.tree),
            "PYTHONUNBUFFERED": "1",
            "ENVIRONMENT": "development",
            "DATA_DIR": str(self.data_dir),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "GATEWAY_PORT": str(self.ports["gateway"]),
            # The deployment's address (links, default avatars) stays the same across the
            # upgrade, as a real one's does.
            "PUBLIC_URL": self.gateway,
            **{f"{name.upper()}_PORT": str(self.ports[name]) for name in stack.SERVICES},
            "SMTP_PORT": str(self.ports["smtp"]),
            "MAIL_HTTP_PORT": str(self.ports["mail"]),
            "LOG_LEVEL": "warning",
            "RATE_LIMIT_ANON": "0",
            "RATE_LIMIT_USER": "0",
            **FAST_HASHING,
        }

    def start(self, release: Release) -> None:
        """Stops what runs, then runs `release` on the same data until its gateway is ready."""
        self.stop()
        self.runs += 1
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.root / f"run-{self.runs}-{release.name}.log"
        with log.open("ab") as output:
            process = subprocess.Popen(
                [release.python, "-m", "devstack"],
                cwd=release.tree,
                env=self.env(release),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.running = (release, process)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{release.name} exited with {process.returncode}: {log.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{self.gateway}/health/ready", timeout=2) as answer:  # noqa: S310 - local URL
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{release.name} was not ready after {READY_TIMEOUT:.0f} s")

    def stop(self) -> None:
        """Ctrl-C, as an operator stops `make run`: every process it started stops."""
        if self.running is None:
            return
        release, process = self.running
        self.running = None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired as late:
                process.kill()
                process.wait()
                raise RuntimeError(
                    f"{release.name} did not stop within {STOP_TIMEOUT:.0f} s"
                ) from late
        if process.returncode != 0:
            raise RuntimeError(f"{release.name} stopped with code {process.returncode}")

    def close(self) -> None:
        try:
            self.stop()
        finally:
            for thing in reversed(self.owned):
                if isinstance(thing, subprocess.Popen):
                    thing.terminate()
                    thing.wait(10)
                else:
                    thing.stop()


def open_site(root: Path) -> Site:
    postgres, database_url = start_postgres(root / "postgres")
    owned: list[Any] = [postgres]
    try:
        valkey, redis_url = start_valkey(root / "valkey", persist=True)
        owned.append(valkey)
        # A killed test run must not leave the stores running.
        owned.append(watch_parent(postgres.pid, valkey_pid(valkey)))
    except BaseException:
        postgres.stop()
        raise
    ports = {name: free_port() for name in (*stack.SERVICES, "gateway", "smtp", "mail")}
    return Site(root, database_url, redis_url, ports, owned)


async def migrations_record(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every migrations table of every schema, row by row."""
    connection = await asyncpg.connect(database_url)
    try:
        tables = await connection.fetch(
            """SELECT schemaname, tablename FROM pg_tables
               WHERE schemaname = ANY($1::text[]) AND tablename LIKE '%migrations'
               ORDER BY 1, 2""",
            list(SCHEMAS),
        )
        record = {}
        for schema, table in tables:
            rows = await connection.fetch(f"SELECT * FROM {schema}.{table} ORDER BY version")
            record[f"{schema}.{table}"] = [tuple(row.values()) for row in rows]
        return record
    finally:
        await connection.close()
