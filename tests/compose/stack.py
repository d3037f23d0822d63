"""The compose deployment of this checkout, driven through the `docker compose` CLI.

Everything the tests send goes to the ports compose publishes on 127.0.0.1; what must be read
inside the compose network (a replica's own /metrics, PostgreSQL as a service's role) is read
by a process in the container itself (`docker exec`).
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "chopchop-compose-test"
SCALE = {"posts_service": 3, "chat_service": 2}
ROLES = {
    "auth_service": "auth",
    "posts_service": "posts",
    "social_service": "social",
    "chat_service": "chat",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(*args: str, timeout: float = 600, check: bool = True) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}"
        )
    return result.stdout


@dataclass
class Stack:
    folder: Path
    gateway_port: int = field(default_factory=free_port)
    mail_port: int = field(default_factory=free_port)
    passwords: dict[str, str] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def mail_api(self) -> str:
        return f"http://127.0.0.1:{self.mail_port}"

    def configure(self) -> None:
        """.env.example with every change-me replaced, ports on loopback, a fresh JWT key."""
        secrets_dir = self.folder / "secrets"
        secrets_dir.mkdir(mode=0o700)
        key = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        signing, extra = (
            secrets_dir / "jwt_signing_key.pem",
            secrets_dir / "jwt_extra_public_keys.pem",
        )
        signing.write_bytes(key)
        extra.write_bytes(b"")
        for path in (signing, extra):
            path.chmod(0o644)  # read by uid 10001 in the container
        values = {
            "GATEWAY_PUBLISHED_PORT": f"127.0.0.1:{self.gateway_port}",
            "MAIL_UI_PUBLISHED_PORT": f"127.0.0.1:{self.mail_port}",
            "PUBLIC_URL": self.base,
            "JWT_SIGNING_KEY_PATH": str(signing),
            "JWT_EXTRA_PUBLIC_KEYS_PATH": str(extra),
            "INTERNAL_AUTH_KEY": secrets.token_hex(32),
        }
        for name in ("POSTGRES", "AUTH_DB", "POSTS_DB", "SOCIAL_DB", "CHAT_DB"):
            self.passwords[name] = values[f"{name}_PASSWORD"] = secrets.token_urlsafe(18)
        lines = []
        for line in (ROOT / ".env.example").read_text().splitlines():
            name = line.split("=", 1)[0]
            if name in values and not line.startswith("#"):
                line = f"{name}={values[name]}"
            lines.append(line)
        text = "\n".join(lines) + "\n"
        left = [line for line in lines if "=change-me" in line and not line.startswith("#")]
        assert not left, f"a change-me of .env.example is left: {left}"
        (self.folder / "compose.env").write_text(text)

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        return run(
            "docker",
            "compose",
            "--project-name",
            PROJECT,
            "--project-directory",
            str(ROOT),
            "--file",
            str(ROOT / "docker-compose.yml"),
            "--env-file",
            str(self.folder / "compose.env"),
            *args,
            timeout=timeout,
            check=check,
        )

    def save_logs(self) -> Path:
        """Every container's log so far, kept beside the configuration for a failed run."""
        logs = self.folder / "compose.log"
        logs.write_text(self.compose("logs", "--no-color", "--timestamps", check=False))
        return logs

    def scale_args(self) -> list[str]:
        return [arg for service, n in SCALE.items() for arg in ("--scale", f"{service}={n}")]

    def up(self, *args: str) -> float:
        started = time.monotonic()
        self.compose("up", "--detach", "--wait", "--wait-timeout", "300", *self.scale_args(), *args)
        return time.monotonic() - started

    def containers(self, service: str, *, all_states: bool = False) -> list[str]:
        """Container ids of a service's replicas (running ones unless `all_states`)."""
        out = run(
            "docker",
            "ps",
            *(["--all"] if all_states else []),
            "--quiet",
            "--filter",
            f"label=com.docker.compose.project={PROJECT}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        )
        return sorted(out.split())

    def inspect(self, container: str) -> dict[str, Any]:
        return dict(json.loads(run("docker", "inspect", container))[0])

    def name(self, container: str) -> str:
        return str(self.inspect(container)["Name"]).lstrip("/")

    def in_container(self, container: str, code: str) -> str:
        """Runs Python code in a container of the image (as its user)."""
        return run("docker", "exec", container, "python", "-c", code, timeout=60)

    def requests_served(self, container: str, route: str) -> int:
        """Requests on `route` that a replica counted: its /metrics, read inside the container.
        Each read lands on one of its gunicorn workers, which count alone: the sum of the
        distinct totals seen over several reads (two workers with the same total count once,
        so this is a lower bound)."""
        code = (
            "import re, urllib.request\n"
            "seen = set()\n"
            "for _ in range(24):\n"
            "    text = urllib.request.urlopen('http://127.0.0.1:8000/metrics', timeout=5).read().decode()\n"
            f"    seen.add(sum(float(v) for v in re.findall(r'^http_requests_total\\{{[^}}]*route=\"{route}\"[^}}]*\\}} (\\S+)$', text, re.M)))\n"
            "print(int(sum(seen)))\n"
        )
        return int(self.in_container(container, code).strip())

    def leftovers(self) -> dict[str, list[str]]:
        label = f"label=com.docker.compose.project={PROJECT}"
        return {
            "containers": run("docker", "ps", "--all", "--quiet", "--filter", label).split(),
            "networks": run("docker", "network", "ls", "--quiet", "--filter", label).split(),
            "volumes": run("docker", "volume", "ls", "--quiet", "--filter", label).split(),
        }
