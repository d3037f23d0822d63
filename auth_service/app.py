"""Wires auth_service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from auth_service.domain import Accounts
from auth_service.keys import ACCOUNTS, KEYS
from auth_service.mailer import Mailer
from auth_service.routes import ROUTES
from auth_service.sessions import Sessions
from auth_service.settings import AuthSettings
from auth_service.signing import KeyRing
from shared.events import relay_ctx
from shared.events.outbox import RELAY
from shared.keys import PG_POOL, REDIS
from shared.service.app import create_service_app
from shared.service.jobs import Job, jobs_ctx

MIGRATIONS = Path(__file__).parent / "migrations"
CLEANUP_BATCH = 1000
CLEANUP_INTERVAL = 600.0


def create_app(settings: AuthSettings) -> web.Application:
    keys = KeyRing.from_settings(settings)
    mailer = Mailer(settings)

    async def accounts_ctx(app: web.Application) -> AsyncIterator[None]:
        accounts = Accounts(settings, app[PG_POOL], app[REDIS], keys, mailer, app[RELAY])
        app[ACCOUNTS] = accounts
        try:
            await accounts.start()
            yield
        finally:
            accounts.hashing.close()

    def jobs(app: web.Application) -> list[Job]:
        async def forget_ended() -> int:
            return await Sessions.forget_ended(app[PG_POOL], CLEANUP_BATCH)

        return [
            mailer.bind(app[PG_POOL]),
            Job("auth.forget_ended_sessions", forget_ended, CLEANUP_INTERVAL, CLEANUP_BATCH),
        ]

    app = create_service_app(
        settings.common,
        title="Chop-chop auth",
        routes=ROUTES,
        schema="auth",
        migrations=MIGRATIONS,
        events=True,
        cleanup_ctx=[
            relay_ctx("auth"),
            accounts_ctx,
            jobs_ctx(jobs),
        ],
    )
    app[KEYS] = keys
    return app


async def create_app_from_env() -> web.Application:
    """gunicorn's entry point (`auth_service.app:create_app_from_env`, see deploy/): the app
    `python -m auth_service` serves, built from the environment in each worker. Async because
    aiohttp's gunicorn worker awaits a coroutine function but refuses a plain callable."""
    return create_app(AuthSettings.from_env())
