"""The events social_service consumes: it forgets deleted users and articles."""

from __future__ import annotations

import asyncpg

from shared.contracts.profiles import Profiles
from shared.contracts.social_facts import SocialFacts
from shared.events import Event
from shared.events.consumer import AfterCommit, Handler
from social_service import queries


def handlers(profiles: Profiles, facts: SocialFacts) -> dict[str, Handler]:
    async def user_deleted(connection: asyncpg.Connection, event: Event) -> AfterCommit:
        likes, follows = await queries.forget_user(connection, int(event.data["id"]))

        async def after_commit() -> None:
            await facts.publish(likes, follows)  # the counters the user's departure changed
            await profiles.invalidate(int(event.data["id"]))

        return after_commit

    async def user_updated(connection: asyncpg.Connection, event: Event) -> None:
        await profiles.invalidate(int(event.data["id"]), event.data.get("username"))

    async def article_deleted(connection: asyncpg.Connection, event: Event) -> None:
        await queries.forget_article(connection, int(event.data["id"]))

    return {
        "user.deleted": user_deleted,
        "user.updated": user_updated,
        "article.deleted": article_deleted,
    }
