"""devstack/watchdog.py: the embedded servers stop when whatever started them dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]

# A test run in miniature: a server daemonized as pg_ctl does PostgreSQL (a session of its
# own), and the watchdog for it.
PARENT = """
import subprocess, sys, time
from devstack.embedded import watch_parent
server = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
)
watch_parent(server.pid)
print(server.pid, flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        status = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return True
    return bool(status == psutil.STATUS_ZOMBIE)


def test_a_server_is_stopped_when_its_parents_whole_group_is_terminated() -> None:
    # Its own group, as `timeout` gives the command it runs; ended as `timeout` ends it.
    with subprocess.Popen(
        [sys.executable, "-c", PARENT],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        start_new_session=True,
    ) as parent:
        assert parent.stdout is not None
        server = int(parent.stdout.readline())
        os.killpg(parent.pid, signal.SIGTERM)
    try:
        deadline = time.monotonic() + 15
        while not _gone(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(server)
    finally:
        if not _gone(server):
            os.kill(server, signal.SIGKILL)
