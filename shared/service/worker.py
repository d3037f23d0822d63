"""The gunicorn worker of every service: aiohttp's uvloop worker, with our read deadlines.

aiohttp's worker builds a plain `AppRunner` unless the app factory hands it a runner, and a
plain runner has no deadline for a request head or a stalled body (see
shared/service/deadlines.py). This worker gives the factory's app the same runner
`python -m <service>` uses, with the settings gunicorn's own worker would pass.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.worker import GunicornUVLoopWebWorker

from shared.service.collector import settle_garbage_collector
from shared.service.deadlines import DeadlineRunner, ReadDeadlines
from shared.service.limits import raise_open_files_limit


async def _settle_garbage_collector(app: web.Application) -> None:
    settle_garbage_collector(asyncio.get_running_loop())


class ServiceWorker(GunicornUVLoopWebWorker):
    def init_process(self) -> None:
        # The worker holds the sockets: its soft open-files limit goes up to the hard one.
        raise_open_files_limit()
        super().init_process()

    async def _run(self) -> None:
        factory: Any = self.wsgi  # type: ignore[has-type]  # gunicorn is untyped

        async def runner() -> web.AppRunner:
            app = factory if isinstance(factory, web.Application) else await factory()
            app.on_startup.append(_settle_garbage_collector)  # after the app's own startup
            return DeadlineRunner(
                app,
                ReadDeadlines.from_env(),
                logger=self.log,
                keepalive_timeout=self.cfg.keepalive,
                access_log=self.log.access_log if self.cfg.accesslog else None,
                access_log_format=self._get_valid_log_format(self.cfg.access_log_format),
                shutdown_timeout=self.cfg.graceful_timeout / 100 * 95,
            )

        self.wsgi = runner
        await super()._run()
