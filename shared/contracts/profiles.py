"""Users' public profiles (id, username, bio, image) as auth_service owns them, cached in Redis.

Services that show authors ask here; a page of ids costs at most one internal call. The cache
is invalidated by `user.updated` and `user.deleted` events through `invalidate`.

Cached profiles are versioned as posts' pages are (posts_service/cache.py): `invalidate`
gives the user a new version, a load tags what it stores with the version it read before
asking auth, and a cached profile is served only while its version is the current one. So a
load that read the old profile before a change and stores it after the invalidation is
never served. A read costs the same one MGET (profiles and versions together).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import Any

from shared.data.cache import JsonCache, SingleFlight
from shared.transport.internal import InternalClient
from shared.web.errors import ApiError

Profile = dict[str, Any]

PROFILE_TTL = 600
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
        if not _USERNAME.match(username):
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
