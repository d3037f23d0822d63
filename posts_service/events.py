"""The events posts_service consumes: deleted users lose their articles and comments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from posts_service import queries
from posts_service.cache import ArticleCache
from posts_service.domain import ARTICLE_DELETED
from shared.events import Event, record_event
from shared.profiles import Profiles

Handler = Callable[[asyncpg.Connection, Event], Awaitable[None]]


def handlers(profiles: Profiles, cache: ArticleCache) -> dict[str, Handler]:
    async def user_deleted(connection: asyncpg.Connection, event: Event) -> None:
        user_id = int(event.data["id"])
        await queries.delete_comments_by_author(connection, user_id)
        for article_id in await queries.article_ids_by_author(connection, user_id):
            await queries.delete_article(connection, article_id)
            # Other services (likes in social) clean up after each article in turn.
            await record_event(connection, ARTICLE_DELETED, {"id": article_id, "authorId": user_id})
        await profiles.invalidate(user_id)
        await cache.invalidate()

    async def user_updated(connection: asyncpg.Connection, event: Event) -> None:
        await profiles.invalidate(int(event.data["id"]), event.data.get("username"))

    return {"user.deleted": user_deleted, "user.updated": user_updated}
