"""`python -m devstack.watchdog PARENT PID...`: ends the servers when their parent dies.

The embedded servers outlive a process killed with SIGKILL (PostgreSQL is daemonized by
pg_ctl, so no parent-death signal reaches it). This small process, started beside them,
polls its parent and, once it is gone, stops each server it was given: SIGINT to a
PostgreSQL postmaster (fast shutdown), SIGTERM to the others, SIGKILL to what is left after
a grace period. Each server is named by its pid and start time, so a reused pid is spared.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

import psutil

POLL = 0.2
GRACE = 5.0


def _alive(pid: int, started: float) -> psutil.Process | None:
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - started) > 0.01 or process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except psutil.Error:
        return None


def main(argv: list[str]) -> None:
    parent = int(argv[0])
    servers = [(int(pid), float(started)) for pid, started in (a.split(":") for a in argv[1:])]
    # Signals of the terminal's process group are for the parent: it stops the servers then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while psutil.pid_exists(parent) and os.getppid() == parent:
        time.sleep(POLL)
    processes = [p for pid, started in servers if (p := _alive(pid, started)) is not None]
    for process in processes:
        is_postgres = "postgres" in process.name() or "postmaster" in process.name()
        with contextlib.suppress(psutil.Error):
            process.send_signal(signal.SIGINT if is_postgres else signal.SIGTERM)
    _, left = psutil.wait_procs(processes, timeout=GRACE)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()


if __name__ == "__main__":
    main(sys.argv[1:])
