"""A service under gunicorn with two workers, as the image runs it: it serves, every worker
runs its own event consumer under a name of its own, a stalled body meets the read deadline,
and SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import redis

from devstack.embedded import free_port
from devstack.stack import ROOT, wait_ready
from tests.infra import Infra

CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
APP = "posts_service.app:create_app_from_env"


def stalled_body_answer(port: int) -> bytes:
    """What a worker answers a request whose body stops after 10 of its 100 bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"article"'
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def get_json(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a local URL
        return response.status, json.loads(response.read())


def log_entries(path: Path) -> list[dict[str, Any]]:
    """Every line the process printed, each of which must be one JSON object."""
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"a line that is not JSON: {line!r}") from None
    return entries


def worker_pids(path: Path) -> set[int]:
    booted = (re.search(r"Booting worker with pid: (\d+)", e["msg"]) for e in log_entries(path))
    return {int(match.group(1)) for match in booted if match}


def consumer_pids(redis_url: str) -> set[int]:
    """The pids named by the consumers of posts' group on auth's stream."""
    client = redis.Redis.from_url(redis_url)
    try:
        consumers = client.xinfo_consumers("events:auth", "posts")
    except redis.ResponseError:  # the group is not there yet
        return set()
    finally:
        client.close()
    names = (consumer["name"].decode() for consumer in consumers)
    return {int(name.rsplit("-", 2)[-2]) for name in names}


def test_posts_service_serves_with_two_workers_and_stops_cleanly_on_sigterm(
    infra: Infra, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **infra.env(
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS="2",
            SHUTDOWN_TIMEOUT="5",
            BODY_READ_TIMEOUT="1",
            LOG_LEVEL="info",
            MEDIA_DIR=str(tmp_path / "media"),
            # Nothing listens there: the route called below needs neither service.
            AUTH_URL=f"http://127.0.0.1:{free_port()}",
            SOCIAL_URL=f"http://127.0.0.1:{free_port()}",
        ),
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(CONFIG), APP],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"{base}/health/ready", 60, process)
        assert get_json(f"{base}/health") == (200, {"status": "ok"})
        assert get_json(f"{base}/api/articles") == (200, {"articles": [], "articlesCount": 0})
        # The read deadlines of `python -m <service>` hold under gunicorn too (slowloris).
        answer = stalled_body_answer(port)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"errors"' in answer
        workers = worker_pids(log)
        assert len(workers) == 2
        # Each worker's consumer joins the group under its own name, or they would take each
        # other's pending events for their own.
        deadline = time.monotonic() + 10
        while not workers <= consumer_pids(infra.redis_url) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert workers <= consumer_pids(infra.redis_url)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    assert code == 0
    messages = [entry["msg"] for entry in log_entries(log)]
    assert all(entry["service"] == "posts" for entry in log_entries(log))
    assert sum(message.startswith("Worker exiting") for message in messages) == 2
    assert "Shutting down: Master" in messages
