"""Wires auth_service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from auth_service.domain import Accounts
from auth_service.keys import ACCOUNTS, KEYS
from auth_service.mailer import Mailer
from auth_service.routes import ROUTES
from auth_service.settings import AuthSettings
from auth_service.signing import KeyRing
from shared.events import relay_ctx
from shared.events.outbox import RELAY
from shared.keys import PG_POOL, REDIS
from shared.service.app import create_service_app
from shared.service.jobs import jobs_ctx

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: AuthSettings) -> web.Application:
    keys = KeyRing.from_settings(settings)
    mailer = Mailer(settings)

    async def accounts_ctx(app: web.Application) -> AsyncIterator[None]:
        app[ACCOUNTS] = Accounts(settings, app[PG_POOL], app[REDIS], keys, mailer, app[RELAY])
        yield

    app = create_service_app(
        settings.common,
        title="Chop-chop auth",
        routes=ROUTES,
        schema="auth",
        migrations=MIGRATIONS,
        events=True,
        cleanup_ctx=[
            relay_ctx("auth"),
            jobs_ctx(lambda app: [mailer.bind(app[PG_POOL])]),
            accounts_ctx,
        ],
    )
    app[KEYS] = keys
    return app
