"""Wires chat_service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from chat_service import events
from chat_service.attachments import Attachments
from chat_service.budget import SendBudget
from chat_service.chats import Chats
from chat_service.clients import AuthUsers
from chat_service.invites import Invites
from chat_service.keys import (
    ATTACHMENTS,
    CHATS,
    HUB,
    IDEMPOTENCY,
    INVITES,
    MESSAGES,
    MODERATION,
    MODERATORS,
    NOTIFICATIONS,
    SESSIONS,
    TIMED,
)
from chat_service.live import log as event_log
from chat_service.live.hub import Hub
from chat_service.live.presence import Presence
from chat_service.live.publisher import Publisher
from chat_service.live.session import Sessions
from chat_service.messages import Messages
from chat_service.moderation import Moderation
from chat_service.moderators import Moderators
from chat_service.notifications import HANDLED_TABLE as NOTIFICATIONS_HANDLED
from chat_service.notifications import Notifications
from chat_service.notifications import partition as notifications_partition
from chat_service.queries import chats as q_chats
from chat_service.routes import ROUTES
from chat_service.scheduling import Timed
from chat_service.settings import ChatSettings
from chat_service.users import Directory
from shared.data.files import LocalStorage
from shared.events import consumer_ctx, relay_ctx
from shared.events.outbox import RELAY
from shared.keys import PG_POOL, REDIS, SETTINGS
from shared.service.app import create_service_app
from shared.service.jobs import Job, jobs_ctx
from shared.tasks import stop_task, supervise
from shared.transport.internal import InternalClient
from shared.web.idempotency import Idempotency

MIGRATIONS = Path(__file__).parent / "migrations"
CleanupCtx = Callable[[web.Application], AsyncIterator[None]]
# Producers whose streams chat_service reads: auth's users; posts' moderator actions for the
# audit log.
CONSUMED = ("auth", "posts")  # users; posts' moderator actions for the audit log
# And for notifications, in a consumer group of their own (so that replicas of a release
# without notifications, in the group "chat", never take an event they need): auth's deleted
# users, posts' comments and recipes, social's follows and likes, and chat's own invitations,
# join decisions, mentions and moderator actions.
NOTIFIED_BY = ("auth", "posts", "social", "chat")
# Lanes at once: each holds one of the pool's connections (DB_POOL_MAX, 10 by default) for
# the one statement that stores a notification, and none while it publishes.
NOTIFY_CONCURRENCY = 6
BATCH = 500


def _jobs(app: web.Application) -> list[Job]:
    invites = app[INVITES]
    presence = app[SESSIONS].presence
    hub = app[HUB]
    notifications = app[NOTIFICATIONS]

    async def prune() -> int:
        return await invites.prune(BATCH)

    async def prune_events() -> int:
        return await event_log.prune(hub.pool, BATCH)

    async def prune_notifications() -> int:
        return await notifications.prune(BATCH)

    async def renew_presence() -> int:
        await presence.renew(hub.devices())
        return 0  # one round per interval, however many sockets

    return [
        *app[TIMED].jobs(),
        Job("chat.prune", prune, interval=300.0, batch_size=BATCH),
        Job("chat.events.prune", prune_events, interval=300.0, batch_size=BATCH),
        Job("chat.notifications.prune", prune_notifications, interval=300.0, batch_size=BATCH),
        Job("chat.presence", renew_presence, interval=presence.ttl / 3, batch_size=1),
    ]


def create_app(settings: ChatSettings, **consumer_options: Any) -> web.Application:
    client = InternalClient(
        {"auth": settings.auth_urls},
        timeout=settings.internal_timeout,
        keys=settings.common.internal_keys,
        issuer="chat",
    )

    async def chat_ctx(app: web.Application) -> AsyncIterator[None]:
        pool = app[PG_POOL]
        await _ensure_general(app)
        publisher = Publisher(app[REDIS], app[HUB].wire, pool, app[RELAY])
        presence = Presence(app[REDIS], settings.presence_ttl)
        auth = AuthUsers(client)
        directory = Directory(pool, auth)
        attachments = Attachments(
            pool, LocalStorage(settings.attachments_dir), settings.max_attachment_bytes
        )
        chats = Chats(pool, settings, directory, publisher, presence, attachments)
        moderation = Moderation(pool, settings, directory)
        budget = SendBudget(settings.send_limit, settings.send_period)
        messages = Messages(
            pool,
            settings,
            chats,
            publisher,
            budget=budget,
            moderation=moderation,
            attachments=attachments,
            presence=presence,
        )
        app[CHATS] = chats
        app[INVITES] = Invites(pool, settings, chats)
        app[MESSAGES] = messages
        app[ATTACHMENTS] = attachments
        app[MODERATION] = moderation
        app[MODERATORS] = Moderators(pool, settings, directory, publisher, auth)
        app[NOTIFICATIONS] = Notifications(pool, publisher, directory, settings.notifications_ttl)
        app[TIMED] = Timed(pool, settings, publisher, attachments, budget)
        sessions = Sessions(pool, settings, app[HUB], directory, messages, publisher, presence)
        app[SESSIONS] = sessions
        heartbeat = asyncio.create_task(supervise("chat:heartbeat", sessions.heartbeat.run))
        app[IDEMPOTENCY] = Idempotency(
            app[PG_POOL], settings.idempotency_ttl, settings.idempotency_lease
        )
        try:
            yield
        finally:
            await stop_task(heartbeat)
            await sessions.settle()
            await client.close()

    return create_service_app(
        settings.common,
        title="Chop-chop chat",
        routes=ROUTES,
        schema="chat",
        migrations=MIGRATIONS,
        idempotency=True,
        events=True,
        cleanup_ctx=[
            hub_ctx(settings.gap_wait, settings.gap_check_interval),
            relay_ctx("chat"),
            chat_ctx,
            consumer_ctx(
                "chat",
                CONSUMED,
                lambda app: events.handlers(
                    app[CHATS].users, app[CHATS].publisher, app[ATTACHMENTS], app[MODERATORS]
                ),
                **consumer_options,
            ),
            consumer_ctx(
                "notifications",
                NOTIFIED_BY,
                lambda app: app[NOTIFICATIONS].handlers(),
                processed_table=NOTIFICATIONS_HANDLED,
                # Events of different recipes, chats and people at once (in order within one).
                concurrency=NOTIFY_CONCURRENCY,
                partition=notifications_partition,
                **consumer_options,
            ),
            jobs_ctx(_jobs),
        ],
    )


def hub_ctx(gap_wait: float, gap_check_interval: float) -> CleanupCtx:
    """Runs the replica's hub: its subscription and its gap checks, for the app's lifetime."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        hub = Hub(
            app[PG_POOL],
            app[SETTINGS].redis_url.get(),
            gap_wait=gap_wait,
            gap_check_interval=gap_check_interval,
        )
        app[HUB] = hub
        reader = asyncio.create_task(supervise("chat:pubsub", hub.subscriber.run))
        checker = asyncio.create_task(supervise("chat:gaps", hub.check_loop))
        await hub.subscriber.wait_connected(2.0)
        try:
            yield
        finally:
            await hub.close()
            await stop_task(checker)
            await stop_task(reader)

    return ctx


async def create_app_from_env() -> web.Application:
    """gunicorn's entry point (`chat_service.app:create_app_from_env`, see deploy/): the app
    `python -m chat_service` serves, built from the environment in each worker. Async because
    aiohttp's gunicorn worker awaits a coroutine function but refuses a plain callable."""
    return create_app(ChatSettings.from_env())


async def _ensure_general(app: web.Application) -> None:
    async with app[PG_POOL].acquire() as connection:
        await q_chats.ensure_general(connection)
