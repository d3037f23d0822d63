"""`python -m devstack`: the whole suite on one machine, without Docker (what `make run` runs).

Starts an embedded PostgreSQL and Valkey unless DATABASE_URL / REDIS_URL point at real ones, a
mail catcher unless SMTP_HOST is set, applies the migrations, starts every service replica and
the gateway, prints the URLs, and on Ctrl-C stops everything it started.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devstack import stack
from devstack.embedded import (
    EmbeddedPostgres,
    start_mailcatcher,
    start_postgres,
    start_valkey,
    valkey_pid,
    watch_parent,
)
from devstack.migrate import migrate_all
from gateway.settings import DEFAULT_WEB_DIR
from shared.settings import Env, mask_url


def main() -> int:
    env = Env()
    data_dir = Path(env.text("DATA_DIR", str(stack.ROOT / ".data"))).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir = data_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    embedded: list[Any] = []
    processes: list[subprocess.Popen[bytes]] = []
    stopping = False
    watchdog: subprocess.Popen[bytes] | None = None

    def request_stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        database_url = env.text("DATABASE_URL", "")
        if not database_url:
            server, database_url = start_postgres(data_dir / "postgres")
            embedded.append(server)
        redis_url = env.text("REDIS_URL", "")
        if not redis_url:
            valkey, redis_url = start_valkey(
                data_dir / "valkey", port=env.integer("VALKEY_PORT", 6390, maximum=65535)
            )
            embedded.append(valkey)
        smtp_host = env.text("SMTP_HOST", "")
        smtp_port = env.integer("SMTP_PORT", 1025, maximum=65535)
        mail_port = env.integer("MAIL_HTTP_PORT", 8025, maximum=65535)
        if not smtp_host:
            smtp_host = "127.0.0.1"
            processes.append(start_mailcatcher(smtp_port, mail_port, log_dir / "mail.log"))
        asyncio.run(migrate_all(database_url))

        ports = {
            name: env.integer(f"{name.upper()}_PORT", port)
            for name, (_, port) in stack.SERVICES.items()
        }
        ports["gateway"] = env.integer("GATEWAY_PORT", stack.GATEWAY[1])
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        base_env = {
            "ENVIRONMENT": env.text("ENVIRONMENT", "development"),
            # Links in mails, invite links and the default avatar point at this gateway, on
            # whatever port it listens (the web client allows images from its origin only).
            "PUBLIC_URL": env.text("PUBLIC_URL", gateway),
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SMTP_HOST": smtp_host,
            "SMTP_PORT": str(smtp_port),
        }
        replicas = {
            name: env.integer(f"{name.upper()}_REPLICAS", 1, minimum=1) for name in stack.SERVICES
        }
        # Several gateways (GATEWAY_REPLICAS, each on the port after the last + 10), as
        # production runs several behind a load balancer.
        gateways = env.integer("GATEWAY_REPLICAS", 1, minimum=1)
        specs = stack.plan(base_env, replicas, ports, gateways)
        for spec in specs:
            processes.append(stack.start(spec, log_dir))
        # Killed without its Ctrl-C (SIGKILL, a closed terminal), this process would leave
        # every server it started running: a watchdog stops them then.
        started = [
            server.pid if isinstance(server, EmbeddedPostgres) else valkey_pid(server)
            for server in embedded
            if not (isinstance(server, EmbeddedPostgres) and server.reused)
        ]
        watchdog = watch_parent(*started, *(process.pid for process in processes))
        for spec, process in zip(specs, processes[-len(specs) :], strict=True):
            stack.wait_ready(f"http://127.0.0.1:{spec.port}/health/ready", 60, process)
        print(f"gateway: {gateway}")
        for index in range(1, gateways):
            port = ports["gateway"] + index * stack.REPLICA_PORT_STEP
            print(f"gateway {index + 1}: http://127.0.0.1:{port}")
        web_dir = Path(env.text("WEB_DIR", str(DEFAULT_WEB_DIR)))
        built = "" if (web_dir / "index.html").is_file() else "  (not built: see README)"
        print(f"web: {gateway}/{built}")
        print(f"docs: {gateway}/api/docs")
        print(f"mail: http://{smtp_host}:{mail_port}")
        print(f"database: {mask_url(database_url)}  redis: {mask_url(redis_url)}  logs: {log_dir}")
        print("Ctrl-C stops everything.", flush=True)
        while not stopping:
            for spec, process in zip(specs, processes[-len(specs) :], strict=True):
                if process.poll() is not None:
                    print(f"{spec.name} exited with code {process.returncode}; restarting it")
                    processes[processes.index(process)] = stack.start(spec, log_dir)
            time.sleep(0.5)
        return 0
    except Exception as exc:
        print(f"make run failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping...", flush=True)
        stack.stop(processes)
        for server in reversed(embedded):
            server.stop()
        if watchdog is not None:
            watchdog.terminate()


if __name__ == "__main__":
    sys.exit(main())
