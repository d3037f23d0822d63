"""Embedded servers die with the process that started them, even one killed with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]

STARTER = """
import json, sys, time
from pathlib import Path
from devstack.infra import start_infra
infra = start_infra(Path(sys.argv[1]))
postgres, valkey, catcher = infra._owned[:3]
servers = {"postgres": postgres.server.get_pid(), "valkey": valkey._process.pid,
           "catcher": catcher.pid}
print(json.dumps(servers), flush=True)
time.sleep(600)
"""


def gone(pid: int) -> bool:
    try:
        status: str = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return True
    return bool(status == psutil.STATUS_ZOMBIE)


async def test_servers_of_a_killed_test_run_stop_within_seconds(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SMTP_HOST", "MAIL_API_URL")
    }
    env["PYTHONPATH"] = str(ROOT)
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        STARTER,
        str(tmp_path / "infra"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    servers: dict[str, int] = {}
    try:
        assert run.stdout is not None
        line = await asyncio.wait_for(run.stdout.readline(), 120)
        servers = json.loads(line)
        assert not any(gone(pid) for pid in servers.values())
        run.send_signal(signal.SIGKILL)
        await run.wait()
        deadline = time.monotonic() + 10
        while not all(gone(pid) for pid in servers.values()):
            assert time.monotonic() < deadline, {n: gone(p) for n, p in servers.items()}
            await asyncio.sleep(0.2)
    finally:
        if run.returncode is None:
            run.kill()
            await run.wait()
        for pid in servers.values():
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
