"""The whole suite as processes, exactly as `make run` starts it, for tests through the gateway.

One stack for the whole run: the root conftest offers its fixtures to every folder."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from devstack import stack
from devstack.embedded import free_port
from tests.factories import FAST_HASHING
from tests.infra import Infra

E2E_REPLICAS = {"posts": 3, "chat": 2}
# The web client as `make install` builds it; tests/web/ skips when it is not built.
WEB_DIR = stack.ROOT / "web" / "dist"


@dataclass
class Stack:
    url: str
    processes: list[subprocess.Popen[bytes]]
    data_dir: Path  # the processes' DATA_DIR: the development signing key, the logs


@pytest.fixture(scope="session")
def running_stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = Path(tmp_path_factory.mktemp("stack"))
    ports = {name: free_port() for name in stack.SERVICES}
    ports["gateway"] = free_port()
    url = f"http://127.0.0.1:{ports['gateway']}"
    base_env = infra.stack_env(
        DATA_DIR=str(data_dir),
        RATE_LIMIT_ANON="100000",
        RATE_LIMIT_USER="100000",
        # Links and the default avatar on the gateway's own origin, as the web client needs.
        PUBLIC_URL=url,
        WEB_DIR=str(WEB_DIR),
        **FAST_HASHING,
    )
    # Replicas as a scaled deployment runs them: requests of one user land on different
    # processes, and chat events cross replicas.
    specs = stack.plan(base_env, E2E_REPLICAS, ports)
    processes = [stack.start(spec, data_dir) for spec in specs]
    try:
        for spec, process in zip(specs, processes, strict=True):
            stack.wait_ready(f"http://127.0.0.1:{spec.port}/health/ready", 60, process)
        yield Stack(url, processes, data_dir)
    finally:
        stack.stop(processes)


@pytest.fixture
async def api(running_stack: Stack) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=running_stack.url) as session:
        yield session
