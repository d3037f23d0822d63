"""The viewer-independent article cache: pages, single articles and the tag list.

Every article write (and every change of an author's profile) increments one version number;
a cached page remembers the version it was loaded under and is served only while that is
still the current one, so one write makes every page stale without scanning keys, and a read
costs one Redis round trip (the version and the page in one MGET). A single article is also
deleted by slug. Concurrent misses on one key load once; with Redis down everything is read
from PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from posts_service.compose import CACHE_FORMAT, Article, Fragments
from shared.data.cache import JsonCache, SingleFlight

VERSION_KEY = "articles:version"
TAGS_KEY = "articles:tags"

Page = tuple[Fragments, int]  # a page's articles, the number of all that match


def article_key(slug: str) -> str:
    return f"articles:slug:{CACHE_FORMAT}:{slug}"


class ArticleCache:
    def __init__(self, cache: JsonCache, enabled: bool = True) -> None:
        self.cache = cache
        self.enabled = enabled
        self.flight = SingleFlight()

    async def page(
        self,
        kind: str,
        limit: int,
        offset: int,
        load: Callable[[], Awaitable[Page]],
        also: str | None = None,
    ) -> Page:
        """A page, cached until any article changes; `also` is one more version the page
        depends on (the feed's: whom the viewer follows), compared like the first."""
        if not self.enabled:
            return await load()
        key = f"articles:page:{CACHE_FORMAT}:{kind}:{limit}:{offset}"
        version, cached = await self.cache.get_many([VERSION_KEY, key])
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

        return await self.flight.do(key, load_and_store)

    async def article(
        self, slug: str, load: Callable[[str], Awaitable[Article | None]]
    ) -> Article | None:
        if not self.enabled:
            return await load(slug)
        key = article_key(slug)
        version, cached = await self.cache.get_many([VERSION_KEY, key])
        if cached is not None and cached["version"] == version:
            return Article.from_stored(cached["article"])

        async def load_and_store() -> Article | None:
            article = await load(slug)
            if article is not None:
                # Versioned like pages: a load that raced with a write is never served.
                await self.cache.set(key, {"version": version, "article": article.stored()})
            return article

        return await self.flight.do(key, load_and_store)

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

    async def invalidate(self, *slugs: str) -> None:
        """After an article write: every page is stale, and so are these articles."""
        await self.cache.incr(VERSION_KEY)
        await self.cache.delete(TAGS_KEY, *(article_key(slug) for slug in slugs))
