"""gunicorn settings shared by every service, all read from the environment.

`gunicorn -c deploy/gunicorn.conf.py posts_service.app:create_app_from_env` serves one service;
the command picks the app, so one image serves them all. Each worker builds its own app after
the fork (no preloading): its pools, its Redis clients and its background loops (outbox
relay, event consumers, chat jobs) belong to that process. That is safe with several workers
because the relay and the jobs claim rows with `FOR UPDATE SKIP LOCKED`, migrations take an
advisory lock, and each event consumer names itself after its host and pid within its
service's consumer group.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn import glogging

from shared.logs import setup_logging
from shared.settings import mask_url


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


def _service(cfg: Any) -> str:
    """The service's name as its own logs spell it: `posts_service.app:...` -> `posts`."""
    uri = str(cfg.wsgi_app or cfg.default_proc_name or "gunicorn")
    return uri.split(":", 1)[0].split(".", 1)[0].removesuffix("_service")


class JsonLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's own lines (boot, workers, errors) in the services' JSON format, through the
    root handler of shared.logs, so that one parser reads all that a container prints."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        setup_logging(_service(cfg), os.environ.get("LOG_LEVEL", "info").strip() or "info")
        for logger in (self.error_log, self.access_log):
            logger.handlers.clear()
            logger.propagate = True


bind = [os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT') or 8000}"]
# aiohttp's uvloop worker with the read deadlines every service has (shared/service/worker.py).
worker_class = "shared.service.worker.ServiceWorker"
workers = int(_number("GUNICORN_WORKERS", _number("WEB_CONCURRENCY", 2)))
# A worker whose event loop stops answering for this long is killed and replaced.
timeout = int(_number("GUNICORN_TIMEOUT", 30))
# Longer than the gateway's UPSTREAM_KEEPALIVE (30 s), as aiohttp's own 75 s is, so that the
# gateway drops an idle connection before a service does and never reuses a closing one.
# gunicorn's default (2 s) would break that.
keepalive = int(_number("GUNICORN_KEEPALIVE", 75))
# On SIGTERM a worker stops accepting, lets requests in flight finish for 95% of this (the
# aiohttp worker's rule), then runs its cleanup (background loops stopped, pools closed); the
# master kills what is left after it. SHUTDOWN_TIMEOUT is what `python -m <service>` gives
# requests; the 5 s beyond it are for the cleanup.
graceful_timeout = int(_number("SHUTDOWN_TIMEOUT", 10) + 5)
preload_app = False
logger_class = JsonLogger
loglevel = os.environ.get("LOG_LEVEL", "info").strip() or "info"
errorlog = "-"
# The services' metrics middleware records every request; an access log would repeat it.
accesslog = None
# The heartbeat file in memory: on a container's overlay file system a write can stall. The
# file is gunicorn's own, opened and unlinked at once, so a shared folder exposes nothing.
SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHM if os.path.isdir(SHM) else None
# The control socket would live in $HOME/.gunicorn, shared by every gunicorn of the user.
control_socket_disable = True


def when_ready(server: Any) -> None:
    server.log.info(
        "starting",
        extra={
            "bind": server.cfg.bind,
            "workers": server.cfg.workers,
            "database": mask_url(os.environ.get("DATABASE_URL", "")),
            "redis": mask_url(os.environ.get("REDIS_URL", "")),
        },
    )
