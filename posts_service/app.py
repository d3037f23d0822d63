"""Wires posts_service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from posts_service import events
from posts_service.cache import ArticleCache
from posts_service.clients import SocialClient, internal_client
from posts_service.domain import Articles
from posts_service.keys import ARTICLES, IDEMPOTENCY, POSTS_SETTINGS, READS, STORAGE
from posts_service.reads import ArticleReads
from posts_service.routes import ROUTES
from posts_service.settings import PostsSettings
from shared.contracts.profiles import PROFILE_TTL, Profiles
from shared.contracts.social_facts import SocialFacts
from shared.data.cache import JsonCache
from shared.data.files import LocalStorage
from shared.events import consumer_ctx, relay_ctx
from shared.events.outbox import RELAY
from shared.keys import PG_POOL, PIPELINED_REDIS, REDIS
from shared.service.app import create_service_app
from shared.web.idempotency import Idempotency

MIGRATIONS = Path(__file__).parent / "migrations"
# Producers whose streams posts_service reads.
CONSUMED = ("auth",)


def create_app(settings: PostsSettings, **consumer_options: Any) -> web.Application:
    client = internal_client(settings)

    async def posts_ctx(app: web.Application) -> AsyncIterator[None]:
        pipelined = app.get(PIPELINED_REDIS)
        profiles = Profiles(JsonCache(app[REDIS], PROFILE_TTL, pipelined), client)
        cache = ArticleCache(
            JsonCache(app[REDIS], settings.page_cache_ttl, pipelined),
            settings.page_cache,
            settings.page_list_versions,
        )
        social = SocialClient(client)
        reads = ArticleReads(
            app[PG_POOL], profiles, social, cache, SocialFacts(app[REDIS], pipelined)
        )
        app[READS] = reads
        app[ARTICLES] = Articles(reads, social, app[RELAY])
        app[IDEMPOTENCY] = Idempotency(
            app[PG_POOL], settings.idempotency_ttl, settings.idempotency_lease
        )
        try:
            yield
        finally:
            await client.close()

    app = create_service_app(
        settings.common,
        title="Chop-chop posts",
        routes=ROUTES,
        schema="posts",
        migrations=MIGRATIONS,
        events=True,
        idempotency=True,
        # Uploads are streamed and limited by MAX_MEDIA_BYTES; JSON bodies stay small.
        client_max_size=1024**2,
        cleanup_ctx=[
            relay_ctx("posts"),
            posts_ctx,
            consumer_ctx(
                "posts",
                CONSUMED,
                lambda app: events.handlers(app[READS].profiles, app[READS].cache),
                **consumer_options,
            ),
        ],
    )
    app[POSTS_SETTINGS] = settings
    app[STORAGE] = LocalStorage(settings.media_dir)
    return app


async def create_app_from_env() -> web.Application:
    """gunicorn's entry point (`posts_service.app:create_app_from_env`, see deploy/): the app
    `python -m posts_service` serves, built from the environment in each worker. Async because
    aiohttp's gunicorn worker awaits a coroutine function but refuses a plain callable."""
    return create_app(PostsSettings.from_env())
