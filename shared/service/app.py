"""The app factory every service uses, and the runner behind each `python -m <service>`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp_apigami import setup_aiohttp_apispec, validation_middleware
from aiohttp_apigami.constants import SWAGGER_DICT

from shared.data.migrations import MigrationState, inspect_migrations, migrate, refuse_changed
from shared.data.postgres import create_pool
from shared.data.redis import redis_ctx
from shared.events.outbox import inspect_event_tables, install_event_tables
from shared.keys import PG_POOL, REDIS, SETTINGS
from shared.logs import setup_logging
from shared.service.collector import settle_garbage_collector
from shared.service.deadlines import ReadDeadlines, start_server
from shared.service.diagnostics import install_diagnostics_signal
from shared.service.limits import raise_open_files_limit
from shared.settings import CommonSettings, mask_url
from shared.web.errors import error_middleware, validation_error_callback
from shared.web.idempotency import MIGRATIONS as IDEMPOTENCY_MIGRATIONS
from shared.web.idempotency import MIGRATIONS_TABLE as IDEMPOTENCY_MIGRATIONS_TABLE
from shared.web.internal_auth import internal_auth_middleware
from shared.web.jsoncodec import json_response
from shared.web.middleware import (
    METRICS,
    Metrics,
    input_middleware,
    metrics_handler,
    metrics_middleware,
    request_id_middleware,
)
from shared.web.openapi import complete_document

log = logging.getLogger(__name__)

CleanupCtx = Callable[[web.Application], AsyncIterator[None]]

READY_TIMEOUT = 2.0


def database_ctx(
    schema: str, migrations: Path | None, events: bool = False, idempotency: bool = False
) -> CleanupCtx:
    """Opens the pool, checks it, applies the service's migrations and the shared tables it
    uses (the event tables, the idempotency keys), and closes it on shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool = await create_pool(app[SETTINGS], schema)
        try:
            await pool.fetchval("SELECT 1")
            # Every applied migration, the event tables' too, against its file before any
            # pending one runs: a refused start leaves the schema as it was.
            async with pool.acquire() as connection:
                changed = []
                if migrations is not None:
                    changed += (await inspect_migrations(connection, schema, migrations)).changed
                if events:
                    changed += (await inspect_event_tables(connection, schema)).changed
                if idempotency:
                    changed += (await inspect_idempotency_table(connection, schema)).changed
                refuse_changed(changed)
            if migrations is not None:
                async with pool.acquire() as connection:
                    await migrate(connection, schema, migrations)
            if events:
                async with pool.acquire() as connection:
                    await install_event_tables(connection, schema)
            if idempotency:
                async with pool.acquire() as connection:
                    await install_idempotency_table(connection, schema)
            app[PG_POOL] = pool
            yield
        finally:
            await pool.close()

    return ctx


async def inspect_idempotency_table(connection: asyncpg.Connection, schema: str) -> MigrationState:
    return await inspect_migrations(
        connection, schema, IDEMPOTENCY_MIGRATIONS, table=IDEMPOTENCY_MIGRATIONS_TABLE
    )


async def install_idempotency_table(connection: asyncpg.Connection, schema: str) -> None:
    """The table of `Idempotency-Key` outcomes (shared/web/idempotency.py) in `schema`."""
    await migrate(connection, schema, IDEMPOTENCY_MIGRATIONS, table=IDEMPOTENCY_MIGRATIONS_TABLE)


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def _check(name: str, probe: Any) -> tuple[str, str]:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await probe
        return name, "ok"
    except Exception as exc:
        return name, f"unavailable: {type(exc).__name__}"


async def ready(request: web.Request) -> web.Response:
    probes = []
    if PG_POOL in request.app:
        probes.append(_check("database", request.app[PG_POOL].fetchval("SELECT 1")))
    if REDIS in request.app:
        probes.append(_check("redis", request.app[REDIS].ping()))
    checks = dict(await asyncio.gather(*probes))
    ok = all(state == "ok" for state in checks.values())
    return json_response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


# The security scheme's text, the same in every service's document (the gateway merges them).
SESSIONS_DOC = (
    "`Token <jwt>` (the RealWorld form) or `Bearer <jwt>`; a websocket may pass it as the "
    "`token` query parameter.\n\n"
    "Sessions: the `token` of registration and login is a session token that keeps the "
    "client signed in as long as its session lives (`SESSION_TTL`, 30 days by default), so a "
    "RealWorld client that never refreshes stays signed in. A client may instead trade "
    "`refreshToken` at `POST /api/auth/refresh` for a short-lived access token "
    "(`ACCESS_TOKEN_TTL`, 15 minutes) and a new refresh token (each works once). Every token "
    "names its session (`sid`): signing out ends that session; a password change or reset "
    "and deleting the account end every session of the user (a password change answers a "
    "token of a new session). An ended session's tokens are refused (401) at once by every "
    "gateway, and stay refused after restarts."
)


def create_service_app(
    settings: CommonSettings,
    *,
    title: str,
    routes: Iterable[web.AbstractRouteDef],
    schema: str | None = None,
    migrations: Path | None = None,
    use_redis: bool = True,
    events: bool = False,
    idempotency: bool = False,
    cleanup_ctx: Iterable[CleanupCtx] = (),
    client_max_size: int = 1024**2,
    ready_handler: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
) -> web.Application:
    """Wires a service: middlewares, resources, operational routes and its OpenAPI document."""
    middlewares = [
        request_id_middleware,
        metrics_middleware,
        error_middleware,
        internal_auth_middleware(settings.internal_keys, enforce=settings.internal_auth_enforce),
        input_middleware,
        validation_middleware,
    ]
    app = web.Application(middlewares=middlewares, client_max_size=client_max_size)
    app[SETTINGS] = settings
    app[METRICS] = Metrics(settings.service)
    if schema is not None:
        app.cleanup_ctx.append(database_ctx(schema, migrations, events, idempotency))
    if use_redis:
        app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.extend(cleanup_ctx)
    app.router.add_routes(routes)
    app.router.add_get("/health", health, name="health")
    app.router.add_get("/health/ready", ready_handler or ready, name="ready")
    app.router.add_get("/metrics", metrics_handler, name="metrics")
    spec = setup_aiohttp_apispec(
        app,
        title=title,
        version="1.0.0",
        url="/openapi.json",
        openapi_version="3.0.3",
        error_callback=validation_error_callback,
    )
    app.on_startup.append(_complete_openapi)
    spec.spec.components.security_scheme(
        "Token",
        {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": SESSIONS_DOC,
        },
    )
    return app


async def _complete_openapi(app: web.Application) -> None:
    document = app.get(SWAGGER_DICT)
    if isinstance(document, dict):
        complete_document(document)


def run_service(app_factory: Callable[[], web.Application], settings: CommonSettings) -> None:
    """Runs one service process on uvloop until SIGINT or SIGTERM, finishing in-flight requests."""
    import uvloop

    setup_logging(settings.service, settings.log_level)
    open_files = raise_open_files_limit()
    log.info(
        "starting",
        extra={
            "host": settings.host,
            "port": settings.port,
            "database": mask_url(settings.database_url.get()),
            "redis": mask_url(settings.redis_url.get()),
            "open_files": open_files,
        },
    )
    deadlines = ReadDeadlines.from_env()
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    install_diagnostics_signal(loop, settings.service)
    main = loop.create_task(_serve(app_factory(), settings, deadlines))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass  # SIGINT or SIGTERM: `main` shuts the app down below
    finally:
        try:
            if not main.done():
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(main)
        finally:
            rest = asyncio.all_tasks(loop)
            for task in rest:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


async def _serve(app: web.Application, settings: CommonSettings, deadlines: ReadDeadlines) -> None:
    """Serves until cancelled; aiohttp's runner turns SIGINT and SIGTERM into GracefulExit.

    web.run_app cannot be given a runner, and the read deadlines need our own (see
    shared/service/deadlines.py), so this is its loop for our one TCP site.
    """
    runner = await start_server(
        app,
        settings.host,
        settings.port,
        deadlines,
        shutdown_timeout=settings.shutdown_timeout,
        handle_signals=True,
    )
    settle_garbage_collector(asyncio.get_running_loop())
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
