"""The soft open-files limit of a serving process goes up to the hard one as it starts."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

from devstack.embedded import free_port
from devstack.stack import ROOT

LOW = 256


def _lowered() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (LOW, hard))


def _soft_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-files line in /proc/<pid>/limits")


def test_raises_the_soft_limit_to_the_hard_one() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    code = (
        "import resource\n"
        "from shared.service.limits import raise_open_files_limit\n"
        "before = resource.getrlimit(resource.RLIMIT_NOFILE)[0]\n"
        "now = raise_open_files_limit()\n"
        "print(before, now, resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        preexec_fn=_lowered,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [int(value) for value in out] == [LOW, hard, hard]


def test_the_gateway_process_serves_with_the_hard_limit(tmp_path: Path) -> None:
    """`python -m gateway` (as `make run` and the image start it) raises its own limit;
    the services start through the same `run_service`."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "GATEWAY_PORT": str(port),
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway"],
        cwd=ROOT,
        env=env,
        preexec_fn=_lowered,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Raised before it serves: whether or not its upstreams answer (none here).
        deadline = time.monotonic() + 30
        while _soft_limit(process.pid) == LOW and time.monotonic() < deadline:
            assert process.poll() is None, "the gateway exited"
            time.sleep(0.1)
        assert _soft_limit(process.pid) == hard > LOW
    finally:
        process.terminate()
        process.wait(10)
