"""Starting the gateway and every service replica as processes, and stopping them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# service name -> (python module, default port of its first replica)
SERVICES: dict[str, tuple[str, int]] = {
    "auth": ("auth_service", 8001),
    "posts": ("posts_service", 8002),
    "social": ("social_service", 8003),
    "chat": ("chat_service", 8004),
}
GATEWAY = ("gateway", 8080)
# Replica n of a service listens on its base port + n * REPLICA_PORT_STEP.
REPLICA_PORT_STEP = 10


@dataclass
class ProcessSpec:
    name: str
    module: str
    port: int
    env: dict[str, str]


def plan(
    base_env: Mapping[str, str],
    replicas: Mapping[str, int],
    ports: Mapping[str, int] | None = None,
    gateway_replicas: int = 1,
) -> list[ProcessSpec]:
    """Every process of the stack with its port and environment; services before the gateway."""
    ports = dict(ports or {})
    urls: dict[str, str] = {}
    specs: list[ProcessSpec] = []
    for name, (module, default_port) in SERVICES.items():
        base = ports.get(name, default_port)
        addresses = [base + i * REPLICA_PORT_STEP for i in range(max(1, replicas.get(name, 1)))]
        urls[f"{name.upper()}_URL"] = ",".join(f"http://127.0.0.1:{p}" for p in addresses)
        for index, port in enumerate(addresses):
            specs.append(ProcessSpec(f"{name}-{index + 1}", module, port, {}))
    for spec in specs:
        service = spec.name.rsplit("-", 1)[0]
        spec.env = {**base_env, **urls, f"{service.upper()}_PORT": str(spec.port)}
    gateway_base = ports.get("gateway", GATEWAY[1])
    for index in range(gateway_replicas):
        port = gateway_base + index * REPLICA_PORT_STEP
        env = {**base_env, **urls, "GATEWAY_PORT": str(port)}
        specs.append(ProcessSpec(f"gateway-{index + 1}", GATEWAY[0], port, env))
    return specs


def start(spec: ProcessSpec, log_dir: Path | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, **spec.env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    if log_dir is None:
        return subprocess.Popen(
            [sys.executable, "-m", spec.module], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
        )
    # The child keeps its own copy of the descriptor; the parent's is closed at once.
    with (log_dir / f"{spec.name}.log").open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", spec.module],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_ready(
    url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} was not ready after {timeout:.0f} s")


def stop(processes: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """SIGTERM to all (they finish in-flight requests), then SIGKILL to any that linger."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
