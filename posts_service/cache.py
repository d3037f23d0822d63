"""The viewer-independent article cache: pages, single articles and the tag list.

Pages: a cached page remembers the versions it was loaded under and is served only while they
are still the current ones, so a write makes pages stale without scanning keys, and a read
costs one Redis round trip (the versions and the page in one MGET). Each page depends on two
versions: the version of every page, which a change or deletion of an article and a change
of an author's profile move, and the version of its own list, which a new article moves for
the lists it enters only: the recent list, its author's list, each of its tags' lists, the
feeds and searches. A new article so leaves the pages of other tags and other authors valid,
and the writer, who gets their answer only after the versions moved, reads their article in
every list it entered (read-your-writes).

Single articles are versioned each on its own, so that writes to other articles (a new one
above all) leave them valid: a write to an article gives its slug a new random version
token, and a cached article is served only while its slug's token and the version of author
profiles (moved by profile changes only) are the ones it was loaded under. A token is never
reused, so one that expires only costs a miss; an article is never stored under a missing
token (a load first sets one, and stores nothing if a write set one meanwhile).

Both also compare the generation of profiles (shared/contracts/profiles.py), which auth
moves before it answers a profile change: an author reads their new bio and image in every
article at once, before the change's event arrives.

Concurrent misses on one key under the same versions load once (a reader who comes after a
write never shares a load that began before it); with Redis down everything is read from
PostgreSQL.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence

import redis.asyncio as aioredis

from posts_service.compose import CACHE_FORMAT, Article, Fragments
from shared.contracts.profiles import GENERATION_KEY
from shared.data.cache import JsonCache, SingleFlight
from shared.logs import ThrottledWarning
from shared.web.jsoncodec import dumps

log = logging.getLogger(__name__)

VERSION_KEY = "articles:version"  # of every page
LIST_VERSION_PREFIX = "articles:list-version:"  # + a list's name (list_of)
PROFILES_VERSION_KEY = "articles:profiles-version"
TAGS_KEY = "articles:tags"

Page = tuple[Fragments, int]  # a page's articles, the number of all that match


def article_key(slug: str) -> str:
    return f"articles:slug:{CACHE_FORMAT}:{slug}"


def list_of(kind: str) -> str:
    """The list whose version a page of this kind depends on: every feed one list, every
    search one, each author's and each tag's list its own, and the recent list."""
    if kind.startswith("feed:"):
        return "feed"
    if kind.startswith("q:"):
        return "search"
    return kind  # "recent", "author:<name>", "tag:<tag>"


def lists_entered(author_names: Sequence[str], tags: Sequence[str]) -> list[str]:
    """The lists a new article enters: those whose pages it makes stale."""
    names = dict.fromkeys(name.lower() for name in author_names)
    return [
        "recent",
        "feed",
        "search",
        *(f"author:{n}" for n in names),
        *(f"tag:{t}" for t in tags),
    ]


def _list_version_key(name: str) -> str:
    return f"{LIST_VERSION_PREFIX}{name}"


def _article_version_key(slug: str) -> str:
    return f"articles:slug-version:{slug}"


class ArticleCache:
    def __init__(self, cache: JsonCache, enabled: bool = True, list_versions: bool = True) -> None:
        self.cache = cache
        self.enabled = enabled
        # Off while a release that knows only the version of every page still runs (the
        # README's "Upgrading"): a new article then moves that version too, as it expects.
        self.list_versions = list_versions
        self.flight = SingleFlight()
        # Longer than the copies a token tags, so that they seldom miss for its expiry.
        self._token_ttl = 2 * cache.ttl
        self._failed = ThrottledWarning(log, "article cache not invalidated")

    async def page(
        self,
        kind: str,
        limit: int,
        offset: int,
        load: Callable[[], Awaitable[Page]],
        also: str | None = None,
        before: str | None = None,
    ) -> Page:
        """A page, cached until an article changes or a new one enters its list; `also` is
        one more version the page depends on (the feed's: whom the viewer follows), compared
        like the others; `before` the cursor a keyset page starts after."""
        if not self.enabled:
            return await load()
        place = f"{offset}" if before is None else f"b{before}"
        key = f"articles:page:{CACHE_FORMAT}:{kind}:{limit}:{place}"
        article_version, list_version, generation, cached = await self.cache.get_many(
            [VERSION_KEY, _list_version_key(list_of(kind)), GENERATION_KEY, key]
        )
        version = [article_version, generation, list_version]
        if cached is not None and cached["version"] == version and cached.get("also") == also:
            return Fragments(*cached["articles"]), cached["count"]

        async def load_and_store() -> Page:
            articles, count = await load()
            # Tagged with the version read before loading: if a write lands meanwhile, the
            # version moves on and this page is never served. The JSON encoder takes no
            # named tuples: the columns go as a plain array.
            await self.cache.set(
                key, {"version": version, "also": also, "articles": tuple(articles), "count": count}
            )
            return articles, count

        # Only readers of the same versions share a load: one who comes after a write (their
        # own, above all) must not be given a page loaded before it.
        return await self.flight.do(f"{key}|{version}", load_and_store)

    async def article(
        self, slug: str, load: Callable[[str], Awaitable[Article | None]]
    ) -> Article | None:
        if not self.enabled:
            return await load(slug)
        key, version_key = article_key(slug), _article_version_key(slug)
        profiles, generation, token, cached = await self.cache.get_many(
            [PROFILES_VERSION_KEY, GENERATION_KEY, version_key, key]
        )
        current = [profiles, generation, token]
        if token is not None and cached is not None and cached["version"] == current:
            return Article.from_stored(cached["article"])

        async def load_and_store() -> Article | None:
            version = token
            if version is None:
                version = secrets.token_hex(8)
                if not await self._set_if_missing(version_key, version):
                    version = None  # a write (or another reader) set one: store nothing
            article = await load(slug)
            if article is not None and version is not None:
                # Tagged with the versions read before loading: if a write lands meanwhile,
                # the token changes and this copy is never served.
                await self.cache.set(
                    key, {"version": [profiles, generation, version], "article": article.stored()}
                )
            return article

        return await self.flight.do(f"{key}|{current}", load_and_store)

    async def _set_if_missing(self, key: str, value: str) -> bool:
        try:
            return bool(await self.cache.redis.set(key, dumps(value), ex=self._token_ttl, nx=True))
        except (aioredis.RedisError, OSError) as exc:
            self._failed(exc)
            return False

    async def tags(self, load: Callable[[], Awaitable[list[str]]]) -> list[str]:
        if not self.enabled:
            return await load()
        cached = await self.cache.get(TAGS_KEY)
        if cached is not None:
            return list(cached)

        async def load_and_store() -> list[str]:
            tags = await load()
            await self.cache.set(TAGS_KEY, tags)
            return tags

        return await self.flight.do(TAGS_KEY, load_and_store)

    async def invalidate(
        self, *slugs: str, profiles: bool = False, lists: Sequence[str] | None = None
    ) -> None:
        """After an article write: these articles are stale, and so is every page, or with
        `lists` (a new article: lists_entered) the pages of those lists only; with
        `profiles` (an author's profile changed), every article too. One round trip."""
        commands: list[tuple[str, ...]]
        commands = [("INCR", _list_version_key(name)) for name in lists or ()]
        if lists is None or not self.list_versions:
            commands.append(("INCR", VERSION_KEY))
        if profiles:
            commands.append(("INCR", PROFILES_VERSION_KEY))
        for slug in slugs:
            token = dumps(secrets.token_hex(8))
            commands.append(("SET", _article_version_key(slug), token, "EX", str(self._token_ttl)))
        commands.append(("DEL", TAGS_KEY, *(article_key(slug) for slug in slugs)))
        try:
            await self.cache.write(commands)
        except (aioredis.RedisError, OSError) as exc:
            # As with any cache write that fails: copies may be served until their TTL.
            self._failed(exc)
