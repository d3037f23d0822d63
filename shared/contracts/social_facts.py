"""Like and follow facts that social_service publishes to Redis for posts_service to read.

A page of articles needs each article's like count, each author's follow counts and, for a
signed-in viewer, which of the articles they like and which authors they follow; asking
social_service on every page cost more than the rest of the page. So social_service writes
each counter, and each user's sets of liked articles and followed users, to Redis whenever
they change (after the commit, before it answers), and whenever posts_service found one
missing (social's summary route fills what it serves). posts_service reads a page's facts
with one MGET and calls social_service only when one is missing.

Ordering: every counter row carries a version drawn from a database sequence in the
transaction that changed it, and a value replaces the one in Redis only if its version is
higher. Writers and fills may reach Redis in any order; the latest committed value wins. If
Redis is unreachable when a counter changes, the old value may be served until its TTL
expires; every failure here is logged and turns into a miss, never an error.

Keys: `sf:likes:{article id}` = "version:likes", `sf:follows:{user id}` =
"version:followers:following", `sf:liked:{user id}` and `sf:following:{user id}` =
"version:id,id,...". A set larger than MAX_SET is not published (its readers ask social).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from shared.logs import ThrottledWarning
from shared.transport.redis_pipeline import RedisReads

log = logging.getLogger(__name__)

LIKES = "sf:likes:"
FOLLOWS = "sf:follows:"
LIKED = "sf:liked:"
FOLLOWING = "sf:following:"
TTL_SECONDS = 300
MAX_SET = 10_000

# KEYS: counters; ARGV[1]: TTL; ARGV[i + 1]: "version:..." for KEYS[i]
_PUT_NEWER = """
for i, key in ipairs(KEYS) do
  local new = ARGV[i + 1]
  local current = redis.call('GET', key)
  local newer = (not current)
    or tonumber(string.match(current, '^%d+')) < tonumber(string.match(new, '^%d+'))
  if newer then
    redis.call('SET', key, new, 'EX', ARGV[1])
  end
end
return 0
"""


@dataclass(frozen=True)
class LikeCount:
    article_id: int
    likes: int
    version: int


@dataclass(frozen=True)
class FollowCounts:
    user_id: int
    followers: int
    following: int
    version: int


@dataclass(frozen=True)
class IdSet:
    """The articles a user likes, or the users they follow."""

    user_id: int
    ids: list[int]
    version: int


@dataclass(frozen=True)
class Counts:
    likes: dict[int, int]  # article id -> likes
    follows: dict[int, tuple[int, int]]  # user id -> (followers, following)
    liked: frozenset[int] = frozenset()  # the viewer's, when one was asked for
    following: frozenset[int] = frozenset()


def _ids(value: str) -> list[int]:
    listed = value.split(":", 1)[1]
    return [int(i) for i in listed.split(",")] if listed else []


class SocialFacts:
    def __init__(self, redis: aioredis.Redis, reads: RedisReads | None = None) -> None:
        self._redis = redis
        self._reads = reads
        self._put = redis.register_script(_PUT_NEWER)
        self._failed = ThrottledWarning(log, "social counters in Redis unavailable")

    async def publish(
        self,
        likes: Iterable[LikeCount] = (),
        follows: Iterable[FollowCounts] = (),
        liked: Iterable[IdSet] = (),
        following: Iterable[IdSet] = (),
    ) -> None:
        """social_service: writes facts, each only over an older version of itself."""
        keys: list[str] = []
        values: list[str] = []
        for like in likes:
            keys.append(f"{LIKES}{like.article_id}")
            values.append(f"{like.version}:{like.likes}")
        for follow in follows:
            keys.append(f"{FOLLOWS}{follow.user_id}")
            values.append(f"{follow.version}:{follow.followers}:{follow.following}")
        for prefix, sets in ((LIKED, liked), (FOLLOWING, following)):
            for id_set in sets:
                if len(id_set.ids) <= MAX_SET:
                    keys.append(f"{prefix}{id_set.user_id}")
                    values.append(f"{id_set.version}:{','.join(map(str, id_set.ids))}")
        if not keys:
            return
        try:
            await self._put(keys=keys, args=[TTL_SECONDS, *values])
        except (aioredis.RedisError, OSError) as exc:
            self._failed(exc)

    async def read(
        self, article_ids: Sequence[int], user_ids: Sequence[int], viewer_id: int | None = None
    ) -> Counts | None:
        """posts_service: every counter asked for, and the viewer's sets when there is a
        viewer; None when any of them is missing."""
        keys = [f"{LIKES}{i}" for i in article_ids] + [f"{FOLLOWS}{i}" for i in user_ids]
        if viewer_id is not None:
            keys += [f"{LIKED}{viewer_id}", f"{FOLLOWING}{viewer_id}"]
        if not keys:
            return Counts({}, {})
        try:
            if self._reads is not None:
                found = await self._reads.mget(keys)
            else:
                found = cast(list[str | None], await self._redis.mget(keys))
        except (aioredis.RedisError, OSError) as exc:
            self._failed(exc)
            return None
        if None in found:
            return None
        raw = cast(list[str], found)  # the client decodes responses
        likes = {}
        for article_id, value in zip(article_ids, raw, strict=False):
            likes[article_id] = int(value.split(":")[1])
        follows = {}
        for user_id, value in zip(user_ids, raw[len(article_ids) :], strict=False):
            _, followers, following = value.split(":")
            follows[user_id] = (int(followers), int(following))
        if viewer_id is None:
            return Counts(likes, follows)
        return Counts(likes, follows, frozenset(_ids(raw[-2])), frozenset(_ids(raw[-1])))

    async def following_of(self, user_id: int) -> IdSet | None:
        """The users someone follows, with the set's version; None when not published."""
        try:
            key = f"{FOLLOWING}{user_id}"
            value = await (self._reads or self._redis).get(key)
        except (aioredis.RedisError, OSError) as exc:
            self._failed(exc)
            return None
        if value is None:
            return None
        text = cast(str, value)
        return IdSet(user_id, _ids(text), int(text.split(":", 1)[0]))
