"""Article rules, and the calls that gather an article's parts from three services' data."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from posts_service import queries
from posts_service.cache import ArticleCache, Page
from posts_service.compose import (
    Article,
    ArticleOut,
    AuthorOut,
    CommentOut,
    Fragments,
    article_out,
    author_out,
    close_fragments,
    comment_out,
    counts_from,
    fragments,
    public_profile,
)
from posts_service.slugs import slugify, with_suffix
from shared.contracts.profiles import Profiles
from shared.contracts.social_facts import Counts, SocialFacts
from shared.events import OutboxRelay, record_event
from shared.transport.internal import InternalClient
from shared.web.errors import BadGateway, Forbidden, NotFound, ValidationFailed
from shared.web.idempotency import Seal, no_seal
from shared.web.identity import Caller

log = logging.getLogger(__name__)

ARTICLE_CREATED = "article.created"
ARTICLE_UPDATED = "article.updated"
ARTICLE_DELETED = "article.deleted"
SLUG_ATTEMPTS = 5


def normalize_tags(tags: Sequence[str]) -> list[str]:
    """Lower-cased, trimmed, without empties or duplicates, in alphabetical order."""
    return sorted({tag.strip().lower() for tag in tags if tag.strip()})


class Articles:
    def __init__(
        self,
        pool: asyncpg.Pool,
        profiles: Profiles,
        client: InternalClient,
        cache: ArticleCache,
        relay: OutboxRelay,
        facts: SocialFacts,
    ) -> None:
        self.pool = pool
        self.profiles = profiles
        self.client = client
        self.cache = cache
        self.relay = relay
        self.facts = facts

    # Composition: one call to auth (profiles, mostly cached) and one to social per page.

    async def with_authors(self, rows: Sequence[asyncpg.Record]) -> list[Article]:
        """The rows' articles, each with its author's public profile."""
        profiles = await self.profiles.by_ids({row["author_id"] for row in rows})
        return [
            Article.from_row(row, public_profile(profiles.get(row["author_id"]))) for row in rows
        ]

    async def _counts(
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
            summary = await self.client.request(
                "POST",
                "social",
                "/internal/summary",
                json={
                    "articleIds": article_ids,
                    "authorIds": author_ids,
                    "viewerId": viewer.id if viewer else None,
                },
                idempotent=True,  # a read, sent as POST for its id lists: safe to send again
            )
        except BadGateway:
            if not degrade:
                raise
            log.warning("social_service unavailable; counts answered as zero")
            return Counts({i: 0 for i in article_ids}, {i: (0, 0) for i in author_ids})
        return counts_from(summary)

    async def compose(
        self, article: Article, viewer: Caller | None, degrade: bool = False
    ) -> ArticleOut:
        counts = await self._counts([article.id], [article.author_id], viewer, degrade)
        return article_out(article, counts)

    async def compose_items(self, page: Fragments, viewer: Caller | None) -> str:
        """A page's articles as the text of a JSON array (see compose.close_fragments)."""
        if not page.texts:
            return "[]"
        counts = await self._counts(page.article_ids, list(set(page.author_ids)), viewer)
        return close_fragments(page, counts)

    async def _authors(
        self, author_ids: Sequence[int], viewer: Caller | None, degrade: bool = False
    ) -> dict[int, AuthorOut]:
        ids = list(dict.fromkeys(author_ids))
        if not ids:
            return {}
        profiles = await self.profiles.by_ids(ids)
        counts = await self._counts([], ids, viewer, degrade)
        return {i: author_out(public_profile(profiles.get(i)), i, counts) for i in ids}

    # Reads

    async def get(self, slug: str, viewer: Caller | None) -> ArticleOut:
        article = await self.cache.article(slug, self._load_article)
        if article is None:
            raise NotFound(f"article {slug} not found")
        return await self.compose(article, viewer)

    async def _load_article(self, slug: str) -> Article | None:
        async with self.pool.acquire() as connection:
            row = await queries.get_article_by_slug(connection, slug)
        return (await self.with_authors([row]))[0] if row else None

    async def list_articles(self, query: dict[str, Any], viewer: Caller | None) -> tuple[str, int]:
        """The page (the text of a JSON array) and the number of articles that match."""
        limit, offset = query["limit"], query["offset"]
        if "favorited" in query:
            page, total = await self._favorited_by(query["favorited"], limit, offset)
        elif "author" in query:
            page, total = await self.cache.page(
                f"author:{query['author'].lower()}",
                limit,
                offset,
                lambda: self._by_author(query["author"], limit, offset),
            )
        elif "tag" in query:
            tag = query["tag"].strip().lower()
            page, total = await self.cache.page(
                f"tag:{tag}",
                limit,
                offset,
                lambda: self._load(queries.list_by_tag, tag, limit, offset),
            )
        elif "q" in query:
            page, total = await self.cache.page(
                f"q:{query['q']}",
                limit,
                offset,
                lambda: self._load(queries.search, query["q"], limit, offset),
            )
        else:
            page, total = await self.cache.page(
                "recent", limit, offset, lambda: self._load(queries.list_recent, limit, offset)
            )
        return await self.compose_items(page, viewer), total

    async def _load(self, query: Callable[..., Awaitable[Any]], *args: Any) -> Page:
        async with self.pool.acquire() as connection:
            rows, total = await query(connection, *args)
        return fragments(await self.with_authors(rows)), total

    async def _by_author(self, username: str, limit: int, offset: int) -> Page:
        author = await self.profiles.by_username(username)
        if author is None:
            return Fragments([], [], []), 0
        return await self._load(queries.list_by_authors, [author["id"]], limit, offset)

    async def _favorited_by(self, username: str, limit: int, offset: int) -> Page:
        user = await self.profiles.by_username(username)
        if user is None:
            return Fragments([], [], []), 0
        liked = await self.client.request(
            "GET", "social", f"/internal/users/{user['id']}/liked-article-ids"
        )
        return await self._load(queries.list_by_ids, liked["ids"], limit, offset)

    async def feed(self, viewer: Caller, limit: int, offset: int) -> tuple[str, int]:
        following = await self.facts.following_of(viewer.id)
        if following is None:
            answer = await self.client.request(
                "GET", "social", f"/internal/users/{viewer.id}/following-ids"
            )
            ids = answer["ids"]
            if not ids:
                return "[]", 0
            page, total = await self._load(queries.list_by_authors, ids, limit, offset)
        elif not following.ids:
            return "[]", 0
        else:
            # Cached per viewer, valid while no article changes and the viewer follows the
            # same users (the published set's version).
            page, total = await self.cache.page(
                f"feed:{viewer.id}",
                limit,
                offset,
                lambda: self._load(queries.list_by_authors, following.ids, limit, offset),
                also=str(following.version),
            )
        return await self.compose_items(page, viewer), total

    async def tags(self) -> list[str]:
        return await self.cache.tags(self._load_tags)

    async def _load_tags(self) -> list[str]:
        async with self.pool.acquire() as connection:
            return await queries.popular_tags(connection, 100)

    # Writes

    async def _check_media(
        self, connection: asyncpg.Connection, owner: Caller, media: Sequence[str]
    ) -> None:
        unknown = set(media) - await queries.owned_media(connection, owner.id, media)
        if unknown:
            raise ValidationFailed(fields={"media": ["must be ids of your own uploads"]})

    async def create(
        self, author: Caller, fields: dict[str, Any], seal: Seal = no_seal
    ) -> ArticleOut:
        """Stores the article and answers it composed; the answer is composed before the
        commit and sealed with the write (see shared.web.idempotency), so that a retry of a
        stored article always gets it back."""
        tags = normalize_tags(fields.get("tagList") or [])
        slug = slugify(fields["title"])
        async with self.pool.acquire() as connection, connection.transaction():
            await self._check_media(connection, author, fields.get("media") or [])
            for _ in range(SLUG_ATTEMPTS):
                try:
                    async with connection.transaction():  # a savepoint: a taken slug retries
                        article_id = await queries.insert_article(
                            connection, slug, author.id, fields
                        )
                    break
                except asyncpg.UniqueViolationError:
                    slug = with_suffix(slugify(fields["title"]))
            else:
                raise ValidationFailed(fields={"title": ["could not be made into a unique slug"]})
            row = await queries.get_article_by_id(connection, article_id)
            assert row is not None  # inserted just above, in this transaction
            await queries.set_tags(connection, article_id, row["created_at"], tags)
            await record_event(
                connection, ARTICLE_CREATED, {"id": article_id, "slug": slug, "authorId": author.id}
            )
            row = await queries.get_article_by_id(connection, article_id)
            article = (await self.with_authors([row]))[0]
            created = await self.compose(article, author, degrade=True)
            await seal(connection, 201, created)
        await self._changed(slug)
        return created

    async def _own(
        self, connection: asyncpg.Connection, slug: str, caller: Caller
    ) -> asyncpg.Record:
        article = await queries.lock_article_by_slug(connection, slug)
        if article is None:
            raise NotFound(f"article {slug} not found")
        if article["author_id"] != caller.id:
            raise Forbidden("only the author may change this article")
        return article

    async def update(self, caller: Caller, slug: str, changes: dict[str, Any]) -> ArticleOut:
        async with self.pool.acquire() as connection, connection.transaction():
            article = await self._own(connection, slug, caller)
            if "media" in changes:
                await self._check_media(connection, caller, changes["media"] or [])
            new_slug = slug
            if "title" in changes and changes["title"] != article["title"]:
                new_slug = slugify(changes["title"])
                if new_slug != slug:
                    taken = await queries.get_article_by_slug(connection, new_slug)
                    if taken is not None:
                        new_slug = with_suffix(new_slug)
                changes = {**changes, "slug": new_slug}
            await queries.update_article(connection, article["id"], changes)
            if "tagList" in changes:
                await queries.set_tags(
                    connection,
                    article["id"],
                    article["created_at"],
                    normalize_tags(changes["tagList"] or []),
                )
            await record_event(
                connection,
                ARTICLE_UPDATED,
                {"id": article["id"], "slug": new_slug, "authorId": caller.id},
            )
            row = await queries.get_article_by_id(connection, article["id"])
        await self._changed(slug, new_slug)
        return await self.compose((await self.with_authors([row]))[0], caller)

    async def delete(self, caller: Caller, slug: str) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            article = await self._own(connection, slug, caller)
            await queries.delete_article(connection, article["id"])
            await record_event(
                connection, ARTICLE_DELETED, {"id": article["id"], "authorId": caller.id}
            )
        await self._changed(slug)

    async def _changed(self, *slugs: str) -> None:
        await self.cache.invalidate(*slugs)
        self.relay.wake()

    async def set_favorite(self, caller: Caller, slug: str, favorite: bool) -> ArticleOut:
        article = await self.cache.article(slug, self._load_article)
        if article is None:
            raise NotFound(f"article {slug} not found")
        await self.client.request(
            "PUT" if favorite else "DELETE",
            "social",
            f"/internal/likes/{article.id}/{caller.id}",
        )
        return await self.compose(article, caller)

    # Comments

    async def _article_id(self, connection: asyncpg.Connection, slug: str) -> int:
        row = await queries.get_article_by_slug(connection, slug)
        if row is None:
            raise NotFound(f"article {slug} not found")
        return int(row["id"])

    async def add_comment(
        self, caller: Caller, slug: str, body: str, seal: Seal = no_seal
    ) -> CommentOut:
        async with self.pool.acquire() as connection, connection.transaction():
            article_id = await self._article_id(connection, slug)
            row = await queries.insert_comment(connection, article_id, caller.id, body)
            authors = await self._authors([caller.id], caller, degrade=True)
            comment = comment_out(row, authors[caller.id])
            await seal(connection, 200, comment)
        return comment

    async def comments(self, slug: str, viewer: Caller | None) -> list[CommentOut]:
        async with self.pool.acquire() as connection:
            rows = await queries.list_comments(connection, await self._article_id(connection, slug))
        authors = await self._authors([row["author_id"] for row in rows], viewer)
        return [comment_out(row, authors[row["author_id"]]) for row in rows]

    async def delete_comment(self, caller: Caller, slug: str, comment_id: int) -> None:
        async with self.pool.acquire() as connection:
            comment = await queries.get_comment(
                connection, await self._article_id(connection, slug), comment_id
            )
            if comment is None:
                raise NotFound(f"comment {comment_id} not found")
            if comment["author_id"] != caller.id:
                raise Forbidden("only the author may delete this comment")
            await queries.delete_comment(connection, comment_id)
