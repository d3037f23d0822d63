"""What every benchmark shares: starting what it measures (the servers, the services, helper
processes), the CPU that each process and the machine spent, profilers on every process, and
the processes of websocket clients that the chat benchmarks drive over pipes."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

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
        return self.start_replicated_stack({}, **env)

    def start_replicated_stack(self, replicas: Mapping[str, int], **env: str) -> dict[str, int]:
        """The stack with `replicas[name]` processes of a service; returns the first replica's
        port of each, replica n listening on it + n * stack.REPLICA_PORT_STEP."""
        return self.start_gateways_and_replicas(replicas, 1, env)

    def start_gateways_and_replicas(
        self,
        replicas: Mapping[str, int],
        gateway_replicas: int,
        env: Mapping[str, str],
        module_env: Mapping[str, Mapping[str, str]] | None = None,
    ) -> dict[str, int]:
        """As start_replicated_stack, with `gateway_replicas` gateways, gateway n on the
        first's port + n * stack.REPLICA_PORT_STEP; `module_env[key]`, more settings for
        the processes of one module (`chat_service`, `gateway`) or for one process by its
        name (`chat-1`, `gateway-2`)."""
        ports = {name: free_port_run(replicas.get(name, 1)) for name in stack.SERVICES}
        ports["gateway"] = free_port_run(gateway_replicas)
        # Links and the default avatar on the gateway's origin, as `make run` gives them.
        public_url = {"PUBLIC_URL": f"http://127.0.0.1:{ports['gateway']}"}
        # The run's settings win over the defaults (`LOG_LEVEL=info` to read what was logged).
        base_env = self.infra.env(
            DATA_DIR=str(self.work_dir), **{"LOG_LEVEL": "warning", **public_url, **env}
        )
        specs = stack.plan(base_env, replicas, ports, gateway_replicas)
        for spec in specs:
            spec.env.update((module_env or {}).get(spec.module, {}))
            spec.env.update((module_env or {}).get(spec.name, {}))
        started = [stack.start(spec, self.work_dir) for spec in specs]
        self.processes.extend(started)
        for spec, process in zip(specs, started, strict=True):
            stack.wait_ready(f"http://127.0.0.1:{spec.port}/health/ready", 180, process)
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


def free_port_run(count: int, attempts: int = 50) -> int:
    """A free port p such that p + n * stack.REPLICA_PORT_STEP is free too, for n < count."""
    for _ in range(attempts):
        base = free_port()
        ports = [base + n * stack.REPLICA_PORT_STEP for n in range(1, count)]
        if all(port < 65536 and _is_free(port) for port in ports):
            return base
    raise RuntimeError(f"no run of {count} free ports found in {attempts} attempts")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


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


# py-spy in a venv of its own (python3 -m venv /tmp/spy && /tmp/spy/bin/pip install py-spy)
PY_SPY = os.environ.get("PY_SPY") or shutil.which("py-spy") or "/tmp/spy/bin/py-spy"  # noqa: S108


def start_profilers(bench: Bench, folder: Path, seconds: float) -> list[subprocess.Popen[bytes]]:
    folder.mkdir(parents=True, exist_ok=True)
    spies = []
    for process in bench.processes:
        args = process.args if isinstance(process.args, list) else []
        module = next((a for a in args if a.endswith("_service") or a == "gateway"), None)
        if module is None or process.poll() is not None:
            continue
        for fmt, suffix in (("raw", "txt"),):
            spies.append(
                subprocess.Popen(
                    [
                        PY_SPY,
                        "record",
                        "--nonblocking",
                        "--format",
                        fmt,
                        "--rate",
                        "200",
                        "--duration",
                        str(int(seconds)),
                        "--pid",
                        str(process.pid),
                        "--output",
                        str(folder / f"{module}.{suffix}"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    return spies


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks


def servers_cpu_seconds() -> dict[str, float]:
    """CPU used so far by every PostgreSQL and Redis (Valkey) process of the machine."""
    used = {"postgres": 0.0, "redis": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            seconds = cpu_seconds(int(entry.name))
        except OSError:  # the process ended meanwhile
            continue
        if name.startswith("postgres"):
            used["postgres"] += seconds
        elif name.startswith(("redis", "valkey")):
            used["redis"] += seconds
    return used


def machine_cpu_seconds() -> float:
    """CPU used so far by the whole machine (every process, the kernel included)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / 100.0


async def receive(conn: Connection, seconds: float) -> Any:
    """What a client process sends next on its pipe, within `seconds`."""

    def wait() -> Any:
        if not conn.poll(seconds):
            raise TimeoutError(f"a client process said nothing for {seconds:.0f} s")
        return conn.recv()

    return await asyncio.to_thread(wait)


@dataclass
class Clients:
    """Client processes at the other ends of `pipes`, with the sockets they opened."""

    pipes: list[Connection]
    opened: int
    started: float  # time.monotonic() when the processes were started
    open_seconds: float  # until every process said how many sockets it opened
    processes: Sequence[BaseProcess]


@contextlib.asynccontextmanager
async def client_processes(
    name: str,
    target: Callable[..., None],
    shares: Sequence[tuple[Any, ...]],
    *,
    sockets: int,
    open_within: float,
    join_within: float,
) -> AsyncIterator[Clients]:
    """A process per share, running `target(pipe_end, *share)`, which first sends the number
    of sockets it opened and a list of errors; stopped (`("stop",)`) and joined at the end."""
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for share in shares:
        parent_end, child_end = context.Pipe()
        process = context.Process(target=target, args=(child_end, *share), daemon=True)
        process.start()
        child_end.close()
        pipes.append(parent_end)
        processes.append(process)
    started = time.monotonic()
    try:
        ready = [await receive(conn, open_within + 60) for conn in pipes]
        open_seconds = time.monotonic() - started
        opened = sum(count for count, _ in ready)
        if opened < sockets:
            errors = sum((Counter(errors) for _, errors in ready), Counter[str]())
            print(f"{name}: {opened} of {sockets} sockets opened: {dict(errors)}", flush=True)
        yield Clients(pipes, opened, started, open_seconds, processes)
    finally:
        for conn in pipes:
            with contextlib.suppress(OSError):
                conn.send(("stop",))
        for process in processes:
            await asyncio.to_thread(process.join, join_within)
            if process.is_alive():
                process.kill()
