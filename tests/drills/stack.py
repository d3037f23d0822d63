"""A whole stack of its own for the fault drills: servers and processes it can kill and restart.

Everything here belongs to the drill run alone (its own PostgreSQL data directory, Valkey,
mail catcher and ports), so that stopping Redis or restarting the database touches nothing
that the rest of the suite uses.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import stack
from devstack.embedded import free_port, start_mailcatcher, start_postgres, start_valkey
from devstack.infra import run_internal_key
from devstack.migrate import migrate_all
from tests.factories import FAST_HASHING

REPLICAS = 2
READY_TIMEOUT = 60.0


@dataclass
class DrillStack:
    root: Path
    database_url: str
    redis_url: str
    gateway: str
    mail_api: str
    specs: dict[str, stack.ProcessSpec] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    postgres: Any = None
    valkey: Any = None
    valkey_port: int = 0
    mailcatcher: subprocess.Popen[bytes] | None = None
    smtp_port: int = 0
    mail_http_port: int = 0

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def replicas(self, service: str) -> list[str]:
        return [name for name in self.specs if name.rsplit("-", 1)[0] == service]

    # Service processes

    def kill(self, name: str) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        process = self.processes[name]
        process.kill()
        process.wait(10)

    def terminate(self, name: str, timeout: float = 20.0) -> int:
        """SIGTERM and wait for the exit: the process drains its requests in flight."""
        process = self.processes[name]
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout)

    def start(self, name: str) -> None:
        self.processes[name] = stack.start(self.specs[name], self.log_dir)

    async def wait_ready(self, *names: str) -> None:
        for name in names:
            url = f"http://127.0.0.1:{self.specs[name].port}/health/ready"
            await asyncio.to_thread(stack.wait_ready, url, READY_TIMEOUT, self.processes[name])

    async def restart(self, name: str) -> None:
        self.start(name)
        await self.wait_ready(name)

    # Redis

    def pause_redis(self) -> None:
        os.kill(self.valkey._process.pid, signal.SIGSTOP)

    def resume_redis(self) -> None:
        os.kill(self.valkey._process.pid, signal.SIGCONT)

    def kill_redis(self) -> None:
        self.valkey.terminate()

    async def start_redis(self) -> None:
        # The same port, so that every client reconnects to it; it comes back empty.
        self.valkey, _ = await asyncio.to_thread(
            start_valkey, self.root / "valkey", self.valkey_port, False
        )

    # PostgreSQL

    def stop_postgres(self) -> None:
        self.postgres.server.stop()

    async def start_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.server.start)

    # SMTP

    def stop_smtp(self) -> None:
        assert self.mailcatcher is not None
        self.mailcatcher.kill()
        self.mailcatcher.wait(10)

    async def start_smtp(self) -> None:
        self.mailcatcher = start_mailcatcher(
            self.smtp_port, self.mail_http_port, self.log_dir / "mail.log"
        )
        url = f"{self.mail_api}/api/v1/messages"
        await asyncio.to_thread(stack.wait_ready, url, 20, self.mailcatcher)

    def close(self) -> None:
        stack.stop(list(self.processes.values()))
        if self.mailcatcher is not None and self.mailcatcher.poll() is None:
            self.mailcatcher.terminate()
            self.mailcatcher.wait(10)
        if self.valkey is not None:
            self.resume_redis_if_paused()
            self.valkey.terminate()
        if self.postgres is not None:
            self.postgres.stop()

    def resume_redis_if_paused(self) -> None:
        process = self.valkey._process
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)


async def start_drill_stack(root: Path, **extra: str) -> DrillStack:
    """PostgreSQL, Valkey, the mail catcher and two replicas of every service, all ready."""
    (root / "logs").mkdir(parents=True, exist_ok=True)
    postgres, admin_url = await asyncio.to_thread(start_postgres, root / "postgres")
    valkey_port = free_port()
    valkey, redis_url = await asyncio.to_thread(start_valkey, root / "valkey", valkey_port, False)
    smtp_port, mail_http_port = free_port(), free_port()
    drill = DrillStack(
        root=root,
        database_url=admin_url,
        redis_url=redis_url,
        gateway="",
        mail_api=f"http://127.0.0.1:{mail_http_port}",
        postgres=postgres,
        valkey=valkey,
        valkey_port=valkey_port,
        smtp_port=smtp_port,
        mail_http_port=mail_http_port,
    )
    try:
        await drill.start_smtp()
        await migrate_all(admin_url)
        base_env = {
            "ENVIRONMENT": "test",
            "DATA_DIR": str(root / "data"),
            # One key signs and checks identities in every process of the stack.
            "INTERNAL_AUTH_KEY": run_internal_key().signing.decode(),
            "DATABASE_URL": admin_url,
            "REDIS_URL": redis_url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "DB_POOL_MIN": "1",
            "DB_POOL_MAX": "5",
            "LOG_LEVEL": "info",
            "RATE_LIMIT_ANON": "0",
            "RATE_LIMIT_USER": "0",
            "CHAT_SEND_LIMIT": "0",
            "LOGIN_MAX_FAILURES_ACCOUNT": "1000",
            "LOGIN_MAX_FAILURES_IP": "100000",
            **FAST_HASHING,
            **extra,
        }
        ports = {name: free_port() for name in stack.SERVICES}
        ports["gateway"] = free_port()
        # Replica n listens on its base port + 10 n: keep those free of other listeners.
        specs = stack.plan(base_env, dict.fromkeys(stack.SERVICES, REPLICAS), ports)
        drill.specs = {spec.name: spec for spec in specs}
        drill.gateway = f"http://127.0.0.1:{ports['gateway']}"
        for name in drill.specs:
            drill.start(name)
        await drill.wait_ready(*drill.specs)
    except BaseException:
        drill.close()
        raise
    return drill
