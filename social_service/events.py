"""The events social_service consumes: it forgets deleted users and articles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from shared.events import Event
from shared.profiles import Profiles
from social_service import queries

Handler = Callable[[asyncpg.Connection, Event], Awaitable[None]]


def handlers(profiles: Profiles) -> dict[str, Handler]:
    async def user_deleted(connection: asyncpg.Connection, event: Event) -> None:
        await queries.forget_user(connection, int(event.data["id"]))
        await profiles.invalidate(int(event.data["id"]))

    async def user_updated(connection: asyncpg.Connection, event: Event) -> None:
        await profiles.invalidate(int(event.data["id"]), event.data.get("username"))

    async def article_deleted(connection: asyncpg.Connection, event: Event) -> None:
        await queries.forget_article(connection, int(event.data["id"]))

    return {
        "user.deleted": user_deleted,
        "user.updated": user_updated,
        "article.deleted": article_deleted,
    }
