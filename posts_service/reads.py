"""Article reads: the lists, the feed, single articles, comments and tags, each composed from
three services' data (posts' rows, auth's profiles, social's counts). The writes
(domain.Articles) compose their answers with this same object."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from posts_service import queries
from posts_service.cache import ArticleCache, Page
from posts_service.clients import SocialClient
from posts_service.compose import (
    Article,
    ComposedArticle,
    ComposedAuthor,
    ComposedComment,
    Fragments,
    close_fragments,
    composed_article,
    composed_author,
    composed_comment,
    fragments,
    public_profile,
)
from posts_service.cursors import cursor_of
from shared.contracts.profiles import Profiles
from shared.contracts.social_facts import Counts, SocialFacts
from shared.web.errors import BadGateway, NotFound, ServiceUnavailable
from shared.web.identity import Caller

log = logging.getLogger(__name__)


class ArticleReads:
    def __init__(
        self,
        pool: asyncpg.Pool,
        profiles: Profiles,
        social: SocialClient,
        cache: ArticleCache,
        facts: SocialFacts,
    ) -> None:
        self.pool = pool
        self.profiles = profiles
        self.social = social
        self.cache = cache
        self.facts = facts

    # Composition: one call to auth (profiles, mostly cached) and one to social per page.

    async def with_authors(self, rows: Sequence[asyncpg.Record]) -> list[Article]:
        """The rows' articles, each with its author's public profile."""
        profiles = await self.profiles.by_ids({row["author_id"] for row in rows})
        return [
            Article.from_row(row, public_profile(profiles.get(row["author_id"]))) for row in rows
        ]

    async def counts(
        self,
        article_ids: list[int],
        author_ids: list[int],
        viewer: Caller | None,
        degrade: bool = False,
    ) -> Counts:
        """Like counts per article and follow counts per author, with the viewer's flags;
        with `degrade`, zeros when social_service cannot tell (the answer to a write must not
        fail once the write is done)."""
        # social_service publishes what a page needs to Redis: no call while it is all there.
        counts = await self.facts.read(article_ids, author_ids, viewer.id if viewer else None)
        if counts is not None:
            return counts
        try:
            return await self.social.summary(article_ids, author_ids, viewer.id if viewer else None)
        except (BadGateway, ServiceUnavailable):
            if not degrade:
                raise
            log.warning("social_service unavailable; counts answered as zero")
            return Counts({i: 0 for i in article_ids}, {i: (0, 0) for i in author_ids})

    async def compose(
        self, article: Article, viewer: Caller | None, degrade: bool = False
    ) -> ComposedArticle:
        counts = await self.counts([article.id], [article.author_id], viewer, degrade)
        return composed_article(article, counts)

    async def compose_items(self, page: Fragments, viewer: Caller | None) -> str:
        """A page's articles as the text of a JSON array (see compose.close_fragments)."""
        if not page.texts:
            return "[]"
        counts = await self.counts(page.article_ids, list(set(page.author_ids)), viewer)
        return close_fragments(page, counts)

    async def authors(
        self, author_ids: Sequence[int], viewer: Caller | None, degrade: bool = False
    ) -> dict[int, ComposedAuthor]:
        ids = list(dict.fromkeys(author_ids))
        if not ids:
            return {}
        profiles = await self.profiles.by_ids(ids)
        counts = await self.counts([], ids, viewer, degrade)
        return {i: composed_author(public_profile(profiles.get(i)), i, counts) for i in ids}

    # Reads

    async def get(self, slug: str, viewer: Caller | None) -> ComposedArticle:
        article = await self.cache.article(slug, self.load_article)
        if article is None:
            raise NotFound(f"article {slug} not found")
        return await self.compose(article, viewer)

    async def load_article(self, slug: str) -> Article | None:
        async with self.pool.acquire() as connection:
            row = await queries.get_article_by_slug(connection, slug)
        return (await self.with_authors([row]))[0] if row else None

    async def list_articles(
        self, query: dict[str, Any], viewer: Caller | None
    ) -> tuple[str, int, str | None]:
        """The page (the text of a JSON array), the number of articles that match, and the
        cursor of the next page (None on the last page, and for search)."""
        limit, offset, before = query["limit"], query["offset"], query.get("before")
        at = cursor_of(*before) if before else None
        if "favorited" in query:
            page, total = await self._favorited_by(query["favorited"], limit, offset, before)
        elif "author" in query:
            page, total = await self.cache.page(
                f"author:{query['author'].lower()}",
                limit,
                offset,
                lambda: self._by_author(query["author"], limit, offset, before),
                before=at,
            )
        elif "tag" in query:
            tag = query["tag"].strip().lower()
            page, total = await self.cache.page(
                f"tag:{tag}",
                limit,
                offset,
                lambda: self._load(queries.list_by_tag, tag, limit, offset, before),
                before=at,
            )
        elif "q" in query:
            page, total = await self.cache.page(
                f"q:{query['q']}",
                limit,
                offset,
                lambda: self._load(queries.search, query["q"], limit, offset, before),
                before=at,
            )
            return await self.compose_items(page, viewer), total, None
        else:
            page, total = await self.cache.page(
                "recent",
                limit,
                offset,
                lambda: self._load(queries.list_recent, limit, offset, before),
                before=at,
            )
        return await self.compose_items(page, viewer), total, _next(page, limit)

    async def _load(self, query: Callable[..., Awaitable[Any]], *args: Any) -> Page:
        async with self.pool.acquire() as connection:
            rows, total = await query(connection, *args)
        last = cursor_of(rows[-1]["created_at"], rows[-1]["id"]) if rows else None
        return fragments(await self.with_authors(rows), last), total

    async def _by_author(
        self, username: str, limit: int, offset: int, before: queries.Position | None
    ) -> Page:
        author = await self.profiles.by_username(username)
        if author is None:
            return Fragments([], [], []), 0
        return await self._load(queries.list_by_authors, [author["id"]], limit, offset, before)

    async def _favorited_by(
        self, username: str, limit: int, offset: int, before: queries.Position | None
    ) -> Page:
        user = await self.profiles.by_username(username)
        if user is None:
            return Fragments([], [], []), 0
        liked = await self.social.liked_article_ids(user["id"])
        return await self._load(queries.list_by_ids, liked, limit, offset, before)

    async def feed(
        self, viewer: Caller, limit: int, offset: int, before: queries.Position | None = None
    ) -> tuple[str, int, str | None]:
        following = await self.facts.following_of(viewer.id)
        if following is None:
            ids = await self.social.following_ids(viewer.id)
            if not ids:
                return "[]", 0, None
            page, total = await self._load(queries.list_by_authors, ids, limit, offset, before)
        elif not following.ids:
            return "[]", 0, None
        else:
            # Cached per viewer, valid while no article changes and the viewer follows the
            # same users (the published set's version).
            page, total = await self.cache.page(
                f"feed:{viewer.id}",
                limit,
                offset,
                lambda: self._load(queries.list_by_authors, following.ids, limit, offset, before),
                also=str(following.version),
                before=cursor_of(*before) if before else None,
            )
        return await self.compose_items(page, viewer), total, _next(page, limit)

    async def comments(self, slug: str, viewer: Caller | None) -> list[ComposedComment]:
        async with self.pool.acquire() as connection:
            article = await existing_article_id(connection, slug)
            rows = await queries.list_comments(connection, article)
        authors = await self.authors([row["author_id"] for row in rows], viewer)
        return [composed_comment(row, authors[row["author_id"]]) for row in rows]

    async def tags(self) -> list[str]:
        return await self.cache.tags(self._load_tags)

    async def _load_tags(self) -> list[str]:
        async with self.pool.acquire() as connection:
            return await queries.popular_tags(connection, 100)


async def existing_article_id(connection: asyncpg.Connection, slug: str) -> int:
    """The id of the article with this slug, or NotFound."""
    found = await queries.article_id(connection, slug)
    if found is None:
        raise NotFound(f"article {slug} not found")
    return found


def _next(page: Fragments, limit: int) -> str | None:
    """The cursor of the page after a full one (a shorter page is the last)."""
    return page.last if len(page.article_ids) == limit else None
