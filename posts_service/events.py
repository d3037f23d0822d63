"""The events posts_service consumes: deleted users lose their articles and comments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from posts_service import queries
from posts_service.cache import ArticleCache
from posts_service.domain import ARTICLE_DELETED
from shared.contracts.profiles import Profiles
from shared.events import Event, record_event
from shared.events.consumer import AfterCommit

Handler = Callable[[asyncpg.Connection, Event], Awaitable[AfterCommit | None]]


def handlers(profiles: Profiles, cache: ArticleCache) -> dict[str, Handler]:
    async def user_deleted(connection: asyncpg.Connection, event: Event) -> AfterCommit:
        user_id = int(event.data["id"])
        await queries.delete_comments_by_author(connection, user_id)
        articles = await queries.articles_by_author(connection, user_id)
        for article_id, _slug in articles:
            await queries.delete_article(connection, article_id)
            # Other services (likes in social) clean up after each article in turn.
            await record_event(connection, ARTICLE_DELETED, {"id": article_id, "authorId": user_id})

        async def forget_cached() -> None:
            await profiles.invalidate(user_id)
            await cache.invalidate(*(slug for _id, slug in articles))

        return forget_cached

    async def user_updated(connection: asyncpg.Connection, event: Event) -> None:
        # Cached pages embed author profiles: they go stale with the profile.
        await profiles.invalidate(int(event.data["id"]), event.data.get("username"))
        await cache.invalidate(profiles=True)

    return {"user.deleted": user_deleted, "user.updated": user_updated}
