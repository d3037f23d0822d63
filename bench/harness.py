"""Starting what a benchmark measures: the servers, the services, helper processes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack import stack
from devstack.embedded import free_port
from devstack.infra import Infra, start_infra, stop_infra


@dataclass
class Bench:
    infra: Infra
    work_dir: Path
    processes: list[subprocess.Popen[bytes]]

    def start(self, module: str, *args: str, wait: str | None = None) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=stack.ROOT, stdout=subprocess.DEVNULL
        )
        self.processes.append(process)
        if wait:
            stack.wait_ready(wait, 30, process)
        return process

    def start_stack(self, **env: str) -> dict[str, int]:
        """Every service and the gateway, as `make run` starts them; returns their ports."""
        ports = {name: free_port() for name in stack.SERVICES}
        ports["gateway"] = free_port()
        base_env = self.infra.env(DATA_DIR=str(self.work_dir), LOG_LEVEL="warning", **env)
        specs = stack.plan(base_env, {}, ports)
        started = [stack.start(spec, self.work_dir) for spec in specs]
        self.processes.extend(started)
        for spec, process in zip(specs, started, strict=True):
            stack.wait_ready(f"http://127.0.0.1:{spec.port}/health/ready", 60, process)
        return ports

    def restart_service(self, name: str, port: int, gateway_port: int, **env: str) -> None:
        """Replaces one service's process (same port) with one started with extra settings."""
        for process in list(self.processes):
            args = process.args if isinstance(process.args, list) else []
            if f"{name}_service" in args:
                stack.stop([process])
                self.processes.remove(process)
        spec = stack.ProcessSpec(
            name,
            f"{name}_service",
            port,
            self.infra.env(
                DATA_DIR=str(self.work_dir),
                LOG_LEVEL="warning",
                **{f"{name.upper()}_PORT": str(port)},
                **env,
            ),
        )
        self.processes.append(stack.start(spec, self.work_dir))
        stack.wait_ready(f"http://127.0.0.1:{port}/health/ready", 60, self.processes[-1])


@contextmanager
def bench_environment() -> Iterator[Bench]:
    with tempfile.TemporaryDirectory(prefix="chopchop-bench-") as folder:
        infra = start_infra(Path(folder))
        bench = Bench(infra, Path(folder), [])
        try:
            yield bench
        finally:
            stack.stop(bench.processes)
            stop_infra(infra)
