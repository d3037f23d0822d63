"""posts_service's calls to other services' internal routes, each batched: one call per
service per page.

Social's counts, likes and follows are asked here; auth's profiles through the shared reader
(shared/contracts/profiles.py), which caches them. Most pages need neither: social publishes
its facts to Redis (shared/contracts/social_facts.py) and the reads look there first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from posts_service.settings import PostsSettings
from shared.contracts.social_facts import Counts
from shared.transport.internal import InternalClient


def internal_client(settings: PostsSettings) -> InternalClient:
    """The one client of every internal call of a posts process."""
    return InternalClient(
        {"auth": settings.auth_urls, "social": settings.social_urls},
        timeout=settings.internal_timeout,
        keys=settings.common.internal_keys,
        issuer="posts",
    )


class SocialClient:
    """social_service's internal routes, as posts_service asks them."""

    def __init__(self, client: InternalClient) -> None:
        self.client = client

    async def summary(
        self, article_ids: Sequence[int], author_ids: Sequence[int], viewer_id: int | None
    ) -> Counts:
        """Like counts per article and follow counts per author, with the viewer's flags."""
        summary = await self.client.request(
            "POST",
            "social",
            "/internal/summary",
            json={"articleIds": article_ids, "authorIds": author_ids, "viewerId": viewer_id},
            idempotent=True,  # a read, sent as POST for its id lists: safe to send again
        )
        return counts_from(summary)

    async def liked_article_ids(self, user_id: int) -> list[int]:
        answer = await self.client.request(
            "GET", "social", f"/internal/users/{user_id}/liked-article-ids"
        )
        return [int(i) for i in answer["ids"]]

    async def following_ids(self, user_id: int) -> list[int]:
        answer = await self.client.request(
            "GET", "social", f"/internal/users/{user_id}/following-ids"
        )
        return [int(i) for i in answer["ids"]]

    async def set_like(
        self, article_id: int, user_id: int, like: bool, recipe: Mapping[str, Any]
    ) -> tuple[int, bool]:
        """Likes or unlikes (idempotent either way); the article's like count and whether
        the user likes it now. A like carries the recipe's author, slug and title, which
        social puts in its event for the author's notification (no extra call)."""
        path = f"/internal/likes/{article_id}/{user_id}"
        if like:
            answer = await self.client.request("PUT", "social", path, json={"recipe": recipe})
        else:
            answer = await self.client.request("DELETE", "social", path)
        return int(answer["favoritesCount"]), bool(answer["favorited"])


def counts_from(summary: Mapping[str, Any]) -> Counts:
    """The answer of social's summary route in the form of the facts it publishes."""
    articles, authors = summary["articles"], summary["authors"]
    return Counts(
        likes={int(i): int(a["favoritesCount"]) for i, a in articles.items()},
        follows={
            int(i): (int(a["followersCount"]), int(a["followingCount"])) for i, a in authors.items()
        },
        liked=frozenset(int(i) for i, a in articles.items() if a["favorited"]),
        following=frozenset(int(i) for i, a in authors.items() if a["following"]),
    )
