"""Follow and like rules, and the composition of profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from shared.contracts.profiles import Profile, Profiles
from shared.contracts.social_facts import FollowCounts, LikeCount, SocialFacts
from shared.events import OutboxRelay
from shared.web.errors import NotFound, ValidationFailed
from shared.web.identity import Caller
from social_service import queries

FOLLOW_ADDED = "follow.added"
FOLLOW_REMOVED = "follow.removed"
LIKE_ADDED = "like.added"
LIKE_REMOVED = "like.removed"


def profile_json(profile: Profile, following: bool, counts: tuple[int, int]) -> dict[str, Any]:
    return {
        "username": profile["username"],
        "bio": profile["bio"],
        "image": profile["image"],
        "following": following,
        "followersCount": counts[0],
        "followingCount": counts[1],
    }


class Social:
    def __init__(
        self, pool: asyncpg.Pool, profiles: Profiles, relay: OutboxRelay, facts: SocialFacts
    ) -> None:
        self.pool = pool
        self.profiles = profiles
        self.relay = relay
        self.facts = facts

    async def _profile_or_404(self, username: str) -> Profile:
        profile = await self.profiles.by_username(username)
        if profile is None:
            raise NotFound(f"profile {username} not found")
        return profile

    async def compose(
        self, profiles: Sequence[Profile], viewer: Caller | None
    ) -> list[dict[str, Any]]:
        """Profiles with counts and the viewer's `following`, in one query each."""
        ids = [p["id"] for p in profiles]
        async with self.pool.acquire() as connection:
            counts = await queries.follow_counts(connection, ids)
            followed = await queries.followed_among(connection, viewer.id, ids) if viewer else set()
        return [
            profile_json(
                p, p["id"] in followed, (counts[p["id"]].followers, counts[p["id"]].following)
            )
            for p in profiles
        ]

    async def profile(self, username: str, viewer: Caller | None) -> dict[str, Any]:
        return (await self.compose([await self._profile_or_404(username)], viewer))[0]

    async def set_follow(self, caller: Caller, username: str, follow: bool) -> dict[str, Any]:
        target = await self._profile_or_404(username)
        if target["id"] == caller.id:
            raise ValidationFailed(
                "you cannot follow yourself", fields={"username": ["cannot be yourself"]}
            )
        event = FOLLOW_ADDED if follow else FOLLOW_REMOVED
        async with self.pool.acquire() as connection:
            changed = await queries.change_follow(
                connection, caller.id, target["id"], follow, event
            )
            if changed is None:  # a repeat: nothing moved, the answer reads what is
                counts = (await queries.follow_counts(connection, [target["id"]]))[target["id"]]
        if changed is not None:
            self.relay.wake()
            moved, following = changed
            counts = moved[target["id"]]
            # Published before answering: the caller's next read agrees with this answer.
            await self.facts.publish(follows=moved.values(), following_changes=[following])
        return profile_json(target, follow, (counts.followers, counts.following))

    async def related(
        self, username: str, direction: str, viewer: Caller | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        target = await self._profile_or_404(username)
        async with self.pool.acquire() as connection:
            if direction == "followers":
                ids = await queries.list_followers(connection, target["id"], limit, offset)
            else:
                ids = await queries.list_following(connection, target["id"], limit, offset)
            counts = (await queries.follow_counts(connection, [target["id"]]))[target["id"]]
        total = counts.followers if direction == "followers" else counts.following
        found = await self.profiles.by_ids(ids)
        return await self.compose([found[i] for i in ids if i in found], viewer), total

    async def set_like(
        self, article_id: int, user_id: int, like: bool, recipe: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        event = LIKE_ADDED if like else LIKE_REMOVED
        async with self.pool.acquire() as connection:
            changed = await queries.change_like(
                connection, article_id, user_id, like, event, recipe
            )
            if changed is None:  # a repeat: nothing moved, the answer reads what is
                count = (await queries.like_counts(connection, [article_id]))[article_id]
        if changed is not None:
            self.relay.wake()
            count, liked = changed
            # Published before answering: the caller's next read agrees with this answer.
            await self.facts.publish(likes=[count], liked_changes=[liked])
        else:
            await self.facts.publish(likes=[count])
        return {"articleId": article_id, "favorited": like, "favoritesCount": count.likes}

    async def summary(
        self, article_ids: Sequence[int], author_ids: Sequence[int], viewer_id: int | None
    ) -> dict[str, Any]:
        liked, following = [], []
        async with self.pool.acquire() as connection:
            rows = await queries.page_summary(connection, article_ids, author_ids, viewer_id)
            if viewer_id is not None:
                liked.append(await queries.liked_set(connection, viewer_id))
                following.append(await queries.following_set(connection, viewer_id))
        articles: dict[str, Any] = {}
        authors: dict[str, Any] = {}
        likes, follows = [], []
        for row in rows:
            if row["kind"] == "article":
                articles[str(row["id"])] = {
                    "favoritesCount": row["first"],
                    "favorited": row["viewer_flag"],
                }
                likes.append(LikeCount(row["id"], row["first"], row["version"]))
            else:
                authors[str(row["id"])] = {
                    "following": row["viewer_flag"],
                    "followersCount": row["first"],
                    "followingCount": row["second"],
                }
                follows.append(FollowCounts(row["id"], row["first"], row["second"], row["version"]))
        # posts_service asks when a fact is missing from Redis: fill what was read.
        await self.facts.publish(likes, follows, liked, following)
        return {"articles": articles, "authors": authors}
