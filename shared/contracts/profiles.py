"""Users' public profiles (id, username, bio, image) as auth_service owns them, cached in Redis.

Services that show authors ask here; a page of ids costs at most one internal call. The cache
is invalidated by `user.updated` and `user.deleted` events through `invalidate`.

Cached profiles are versioned as posts' pages are (posts_service/cache.py): `invalidate`
gives the user a new version, a load tags what it stores with the version it read before
asking auth, and a cached profile is served only while its version is the current one. So a
load that read the old profile before a change and stores it after the invalidation is
never served. A read costs the same one MGET (profiles and versions together).

A user reads their own writes: auth, which owns profiles, makes a changed (or deleted)
profile stale itself before it answers the change (`announce_change`): the user's version
moves, and so does `GENERATION_KEY`, which caches of what shows profiles (posts' articles)
compare as well. The events then do the same again, in case Redis failed at that moment.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis

from shared.data.cache import JsonCache, SingleFlight
from shared.data.redis import send_commands
from shared.transport.internal import InternalClient
from shared.web.errors import ApiError
from shared.web.jsoncodec import dumps

log = logging.getLogger(__name__)

Profile = dict[str, Any]

PROFILE_TTL = 600
# Moved by every change of any profile: a cache of things that show profiles serves a copy
# only while the generation it was loaded under is the current one.
GENERATION_KEY = "profiles:generation"
# Matched with fullmatch: `$` alone would let "alice\n" through as a name.
_USERNAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _id_key(user_id: int) -> str:
    # "v2": versioned entries, under a name that replicas of an older release never read.
    return f"profile:v2:id:{user_id}"


def _version_key(user_id: int) -> str:
    return f"profile:version:{user_id}"


def _name_key(username: str) -> str:
    return f"profile:name:{username.lower()}"


class Profiles:
    def __init__(self, cache: JsonCache, client: InternalClient) -> None:
        self.cache = cache
        self.client = client
        self.flight = SingleFlight()

    async def by_ids(self, user_ids: Iterable[int]) -> dict[int, Profile]:
        wanted = list(dict.fromkeys(user_ids))
        if not wanted:
            return {}
        cached = await self.cache.get_many(
            [_id_key(i) for i in wanted] + [_version_key(i) for i in wanted]
        )
        entries, versions = cached[: len(wanted)], cached[len(wanted) :]
        found: dict[int, Profile] = {}
        for user_id, entry, version in zip(wanted, entries, versions, strict=True):
            if entry is not None and entry["version"] == version:
                found[user_id] = entry["profile"]
        missing = [i for i in wanted if i not in found]
        if missing:
            read_under = dict(zip(wanted, versions, strict=True))
            body = await self.client.request(
                "GET", "auth", "/internal/users", params={"ids": ",".join(map(str, missing))}
            )
            loaded = {int(user["id"]): user for user in body["users"]}
            await self.cache.set_many(
                {
                    _id_key(i): {"version": read_under.get(i), "profile": p}
                    for i, p in loaded.items()
                }
            )
            found.update(loaded)
        return found

    async def by_username(self, username: str) -> Profile | None:
        if not _USERNAME.fullmatch(username):
            return None  # no such account can exist; never put it in an internal URL
        user_id = await self.cache.get(_name_key(username))
        if user_id is not None:
            profile = (await self.by_ids([int(user_id)])).get(int(user_id))
            # A renamed user's old name may still point here: check before trusting it.
            if profile is not None and profile["username"].lower() == username.lower():
                return profile
        return await self.flight.do(_name_key(username), lambda: self._load_by_name(username))

    async def _load_by_name(self, username: str) -> Profile | None:
        try:
            body = await self.client.request(
                "GET", "auth", f"/internal/users/by-username/{username}"
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        profile: Profile = body["user"]
        # Only the name: the profile itself is cached by `by_ids`, under its version.
        await self.cache.set(_name_key(profile["username"]), profile["id"])
        return profile

    async def invalidate(self, user_id: int, username: str | None = None) -> None:
        # The version first: a load in flight elsewhere stores under the old one. A version
        # is a fresh random value, never a counter that could come back to an old value once
        # its key expired; it outlives every profile stored under the one it replaces.
        await self.cache.set(_version_key(user_id), secrets.token_hex(8), ttl=2 * PROFILE_TTL)
        keys = [_id_key(user_id)]
        if username:
            keys.append(_name_key(username))
        await self.cache.delete(*keys)


def _stale_commands(user_id: int, usernames: Iterable[str]) -> list[tuple[str, ...]]:
    version = dumps(secrets.token_hex(8))
    names = [_name_key(name) for name in usernames if name]
    return [
        ("SET", _version_key(user_id), version, "EX", str(2 * PROFILE_TTL)),
        ("DEL", _id_key(user_id), *names),
        ("INCR", GENERATION_KEY),
    ]


async def announce_change(redis: aioredis.Redis, user_id: int, usernames: Iterable[str]) -> None:
    """Called by auth after a profile changed (or its account was deleted), before it
    answers: every cached copy of the profile, and of what shows it, is stale from now on.
    `usernames` are the names it had and has. A Redis failure is logged and passed over:
    the change's event invalidates the caches again when it is handled."""
    try:
        await send_commands(redis, None, _stale_commands(user_id, usernames))
    except (aioredis.RedisError, OSError) as exc:
        log.warning("profile caches not invalidated at once", extra={"error": repr(exc)})
