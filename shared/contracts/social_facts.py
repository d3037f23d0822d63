"""Like and follow facts that social_service publishes to Redis for posts_service to read.

A page of articles needs each article's like count, each author's follow counts and, for a
signed-in viewer, which of the articles they like and which authors they follow; asking
social_service on every page cost more than the rest of the page. So social_service writes
each counter, and each user's sets of liked articles and followed users, to Redis whenever
they change (after the commit, before it answers), and whenever posts_service found one
missing (social's summary route fills what it serves). posts_service reads a page's facts
with one MGET and calls social_service only when one is missing.

Ordering: every counter row carries a version drawn from a database sequence in the
transaction that changed it (social_service's `counter_versions`; its migration
002_counter_versions.sql names this module by its former path, shared/socialfacts.py, and
stays as it was applied), and a value replaces the one in Redis only if its version is
higher. Writers and fills may reach Redis in any order; the latest committed value wins. If
Redis is unreachable when a counter changes, the old value may be served until its TTL
expires; every failure here is logged and turns into a miss, never an error.

A user's sets are not rewritten on every like or follow (that cost grew with the user's
history): each change is sent as a patch, one id added or removed, by the change that moved
the set's version from v - 1 to v (social_service moves a set's version by one per change).
A patch applies only over version v - 1; over v or later it is already in; otherwise (the set
is missing, or an earlier patch has not arrived) it leaves a tombstone at v, which readers
take as a miss and which only a fill of version v or later replaces, so that a fill that read
the set before the change cannot bring back what the change undid. The version of a published
set is written with a fixed width, so that adding an id rewrites the version in place and
appends the id, whatever the size of the set; removing one rewrites the value inside Redis.

Keys: `sf:likes:{article id}` = "version:likes", `sf:follows:{user id}` =
"version:followers:following", `sf:liked:{user id}` and `sf:following:{user id}` =
"version:id,id,..." or, for a tombstone, "version:?". A set larger than MAX_SET is not
published (its readers ask social).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from shared.logs import ThrottledWarning
from shared.transport.redis_pipeline import PipelinedRedis

log = logging.getLogger(__name__)

LIKES = "sf:likes:"
FOLLOWS = "sf:follows:"
LIKED = "sf:liked:"
FOLLOWING = "sf:following:"
TTL_SECONDS = 300
MAX_SET = 10_000

# Sets' versions are written with this many digits (a bigint has at most 19).
VERSION_WIDTH = 19
TOMBSTONE = "?"

# KEYS: the values to put, then the sets to patch. ARGV[1]: TTL; ARGV[2]: how many puts;
# then "version:..." for each put; then, per patch, the new version (VERSION_WIDTH digits),
# "+" or "-", and the id.
_PUBLISH = """
local ttl, puts = ARGV[1], tonumber(ARGV[2])
-- A value's version, whether it is a tombstone, the length of its "version:" prefix and
-- whether ids follow it, from its first bytes only: a set may be long.
local function state(key)
  local head = redis.call('GETRANGE', key, 0, 24)
  local digits, first = string.match(head, '^(%d+):(.?)')
  if not digits then return nil, false, 0, false end
  return tonumber(digits), first == '?', string.len(digits) + 1, first ~= ''
end
for i = 1, puts do
  local key, new = KEYS[i], ARGV[i + 2]
  local current, tombstone = state(key)
  local version = tonumber(string.match(new, '^%d+'))
  if (not current) or current < version or (tombstone and current <= version) then
    redis.call('SET', key, new, 'EX', ttl)
  end
end
for i = puts + 1, #KEYS do
  local key, at = KEYS[i], 3 + puts + (i - puts - 1) * 3
  local padded, sign, id = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local version = tonumber(padded)
  local current, tombstone, prefix, listed = state(key)
  if current and current >= version then
    -- already in: a fill that read the set after this change, or a later tombstone
  elseif current == version - 1 and not tombstone then
    if sign == '+' and prefix == string.len(padded) + 1 then
      redis.call('SETRANGE', key, 0, padded)
      redis.call('APPEND', key, listed and (',' .. id) or id)
    else
      local ids = ',' .. string.sub(redis.call('GET', key), prefix + 1) .. ','
      if sign == '+' then
        ids = ids .. id .. ','
      else
        local from, to = string.find(ids, ',' .. id .. ',', 1, true)
        if from then ids = string.sub(ids, 1, from) .. string.sub(ids, to + 1) end
      end
      redis.call('SET', key, padded .. ':' .. string.sub(ids, 2, -2), 'KEEPTTL')
    end
    redis.call('EXPIRE', key, ttl)
  else
    redis.call('SET', key, padded .. ':?', 'EX', ttl)
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
class SetChange:
    """One id added to or removed from a user's set by the change that took the set to
    `version` (from `version - 1`); `size` is the set's size after it."""

    user_id: int
    member_id: int
    added: bool
    version: int
    size: int


@dataclass(frozen=True)
class Counts:
    likes: dict[int, int]  # article id -> likes
    follows: dict[int, tuple[int, int]]  # user id -> (followers, following)
    liked: frozenset[int] = frozenset()  # the viewer's, when one was asked for
    following: frozenset[int] = frozenset()


def _ids(value: str) -> list[int]:
    listed = value.split(":", 1)[1]
    return [int(i) for i in listed.split(",")] if listed else []


def _is_tombstone(value: str) -> bool:
    return value.endswith(":" + TOMBSTONE)


def _padded(version: int) -> str:
    return str(version).zfill(VERSION_WIDTH)


class SocialFacts:
    def __init__(self, redis: aioredis.Redis, pipelined: PipelinedRedis | None = None) -> None:
        self._redis = redis
        self._pipelined = pipelined
        self._publish = redis.register_script(_PUBLISH)
        self._failed = ThrottledWarning(log, "social counters in Redis unavailable")

    async def publish(
        self,
        likes: Iterable[LikeCount] = (),
        follows: Iterable[FollowCounts] = (),
        liked: Iterable[IdSet] = (),
        following: Iterable[IdSet] = (),
        liked_changes: Iterable[SetChange] = (),
        following_changes: Iterable[SetChange] = (),
    ) -> None:
        """social_service: writes counters and whole sets, each only over an older version of
        itself, and patches sets with the changes just committed, in one script call."""
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
                    values.append(f"{_padded(id_set.version)}:{','.join(map(str, id_set.ids))}")
        patches: list[str] = []
        patch_args: list[str] = []
        for prefix, changes in ((LIKED, liked_changes), (FOLLOWING, following_changes)):
            for change in changes:
                if change.size > MAX_SET:
                    # Grown past what is published: a tombstone, and readers ask social.
                    keys.append(f"{prefix}{change.user_id}")
                    values.append(f"{_padded(change.version)}:{TOMBSTONE}")
                else:
                    patches.append(f"{prefix}{change.user_id}")
                    patch_args += [
                        _padded(change.version),
                        "+" if change.added else "-",
                        str(change.member_id),
                    ]
        if not keys and not patches:
            return
        args = [str(TTL_SECONDS), str(len(keys)), *values, *patch_args]
        try:
            if self._pipelined is not None:
                await self._pipelined.evalsha(self._publish.sha, _PUBLISH, keys + patches, args)
            else:
                await self._publish(keys=keys + patches, args=args)
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
            if self._pipelined is not None:
                found = await self._pipelined.mget(keys)
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
        if _is_tombstone(raw[-2]) or _is_tombstone(raw[-1]):
            return None
        return Counts(likes, follows, frozenset(_ids(raw[-2])), frozenset(_ids(raw[-1])))

    async def following_of(self, user_id: int) -> IdSet | None:
        """The users someone follows, with the set's version; None when not published."""
        try:
            key = f"{FOLLOWING}{user_id}"
            value = await (self._pipelined or self._redis).get(key)
        except (aioredis.RedisError, OSError) as exc:
            self._failed(exc)
            return None
        if value is None or _is_tombstone(cast(str, value)):
            return None
        text = cast(str, value)
        return IdSet(user_id, _ids(text), int(text.split(":", 1)[0]))
