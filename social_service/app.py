"""Wires social_service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from shared.contracts.profiles import PROFILE_TTL, Profiles
from shared.contracts.social_facts import SocialFacts
from shared.data.cache import JsonCache
from shared.events import consumer_ctx, relay_ctx
from shared.events.outbox import RELAY
from shared.keys import PG_POOL, PIPELINED_REDIS, REDIS
from shared.service.app import create_service_app
from shared.transport.internal import InternalClient
from social_service import events
from social_service.domain import Social
from social_service.keys import SOCIAL
from social_service.routes import ROUTES
from social_service.settings import SocialSettings

MIGRATIONS = Path(__file__).parent / "migrations"
# Producers whose streams social_service reads.
CONSUMED = ("auth", "posts")


def create_app(settings: SocialSettings, **consumer_options: Any) -> web.Application:
    client = InternalClient(
        {"auth": settings.auth_urls},
        timeout=settings.internal_timeout,
        keys=settings.common.internal_keys,
        issuer="social",
    )

    async def social_ctx(app: web.Application) -> AsyncIterator[None]:
        pipelined = app.get(PIPELINED_REDIS)
        profiles = Profiles(JsonCache(app[REDIS], PROFILE_TTL, pipelined), client)
        facts = SocialFacts(app[REDIS], pipelined)
        app[SOCIAL] = Social(app[PG_POOL], profiles, app[RELAY], facts)
        try:
            yield
        finally:
            await client.close()

    return create_service_app(
        settings.common,
        title="Chop-chop social",
        routes=ROUTES,
        schema="social",
        migrations=MIGRATIONS,
        events=True,
        cleanup_ctx=[
            relay_ctx("social"),
            social_ctx,
            consumer_ctx(
                "social",
                CONSUMED,
                lambda app: events.handlers(app[SOCIAL].profiles, app[SOCIAL].facts),
                **consumer_options,
            ),
        ],
    )


async def create_app_from_env() -> web.Application:
    """gunicorn's entry point (`social_service.app:create_app_from_env`, see deploy/): the app
    `python -m social_service` serves, built from the environment in each worker. Async because
    aiohttp's gunicorn worker awaits a coroutine function but refuses a plain callable."""
    return create_app(SocialSettings.from_env())
