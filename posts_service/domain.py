"""Article rules: the writes, their answers composed by reads.ArticleReads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg

from posts_service import queries
from posts_service.cache import lists_entered
from posts_service.clients import SocialClient
from posts_service.compose import (
    Article,
    ComposedArticle,
    ComposedComment,
    composed_article,
    composed_comment,
    public_profile,
)
from posts_service.reads import ArticleReads, existing_article_id
from posts_service.slugs import slugify, with_suffix
from shared.contracts.social_facts import Counts, LikeCount
from shared.events import OutboxRelay, record_event
from shared.web.errors import Forbidden, NotFound, ValidationFailed
from shared.web.idempotency import Seal, no_seal, sealed_write
from shared.web.identity import Caller

log = logging.getLogger(__name__)

ARTICLE_CREATED = "article.created"
ARTICLE_UPDATED = "article.updated"
ARTICLE_DELETED = "article.deleted"
MODERATION_ACTION = "moderation.action"
COMMENT_CREATED = "comment.created"
COMMENT_DELETED = "comment.deleted"


async def _moderated(
    connection: asyncpg.Connection,
    caller: Caller,
    action: str,
    target: str,
    reason: str | None,
    author_id: int,
    removed: dict[str, Any],
) -> None:
    """A moderator's removal, told in the transaction that makes it (the outbox), so that the
    audit log misses none; it names the author, whom notifications will tell."""
    await record_event(
        connection,
        MODERATION_ACTION,
        {
            "authorId": author_id,
            "moderatorId": caller.id,
            "moderator": caller.username,
            "service": "posts",
            "action": action,
            "target": target,
            "reason": reason,
            # What was removed, as it was: the author's notification names it.
            **removed,
        },
    )


SLUG_ATTEMPTS = 5


def normalize_tags(tags: Sequence[str]) -> list[str]:
    """Lower-cased, trimmed, without empties or duplicates, in alphabetical order."""
    return sorted({tag.strip().lower() for tag in tags if tag.strip()})


class Articles:
    """The writes on articles, comments and favorites."""

    def __init__(self, reads: ArticleReads, social: SocialClient, relay: OutboxRelay) -> None:
        self.reads = reads
        self.social = social
        self.relay = relay
        self.pool = reads.pool
        self.cache = reads.cache

    async def _check_media(
        self, connection: asyncpg.Connection, owner: Caller, media: Sequence[str]
    ) -> None:
        unknown = set(media) - await queries.owned_media(connection, owner.id, media)
        if unknown:
            raise ValidationFailed(fields={"media": ["must be ids of your own uploads"]})

    async def create(
        self, author: Caller, fields: dict[str, Any], seal: Seal = no_seal
    ) -> ComposedArticle:
        """Stores the article and answers it composed; the answer is composed before the
        commit and sealed with the write (see shared.web.idempotency), so that a retry of a
        stored article always gets it back.

        The article, its tags and its event are one statement (queries.insert_article), in a
        transaction only when an Idempotency-Key's seal must commit with it. The answer is
        built from what the insert returns: a new article has no likes, and its author's
        profile and follow counts are read (from Redis, mostly) before the write, so that it
        holds its locks for its statement only.

        Media ids are checked first, in PostgreSQL: a refusal (422) costs no call to another
        service and never depends on one answering. Uploads are never deleted, so the check
        holds until the insert."""
        tags = normalize_tags(fields.get("tagList") or [])
        media = fields.get("media") or []
        slug = slugify(fields["title"])
        if media:
            async with self.pool.acquire() as connection:
                await self._check_media(connection, author, media)
        profiles, counts = await asyncio.gather(
            self.reads.profiles.by_ids([author.id]),
            self.reads.counts([], [author.id], None, degrade=True),
        )
        async with self.pool.acquire() as connection, sealed_write(connection, seal):
            for _ in range(SLUG_ATTEMPTS):
                row = await queries.insert_article(
                    connection, slug, author.id, fields, tags, ARTICLE_CREATED
                )
                if row is not None:
                    break
                slug = with_suffix(slugify(fields["title"]))
            else:
                raise ValidationFailed(fields={"title": ["could not be made into a unique slug"]})
            article_id = row["id"]
            article = Article.from_row(
                {**dict(row.items()), "tag_list": tags}, public_profile(profiles.get(author.id))
            )
            created = composed_article(article, Counts({article_id: 0}, counts.follows))
            await seal(connection, 201, created)
        # Pages only: no copy of a new slug is cached (a load that found nothing stores
        # nothing, and the deletion of an article with this slug changed its version).
        # Its like count is published as zero at version 0, below any social_service
        # writes (its versions start at 1), so that pages showing it need no call to social.
        # The lists it entered are stale, and only those: the author's under the name of
        # their token and of their profile, should a rename's event still be on its way.
        names = [author.username, str(article.author.get("username") or author.username)]
        await asyncio.gather(
            self._changed(lists=lists_entered(names, tags)),
            self.reads.facts.publish(likes=[LikeCount(article_id, 0, 0)]),
        )
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

    async def update(self, caller: Caller, slug: str, changes: dict[str, Any]) -> ComposedArticle:
        async with self.pool.acquire() as connection, connection.transaction():
            article = await self._own(connection, slug, caller)
            if changes.get("media"):
                await self._check_media(connection, caller, changes["media"])
            new_slug = slug
            if "title" in changes and changes["title"] != article["title"]:
                new_slug = slugify(changes["title"])
                if new_slug != slug and await queries.slug_taken(connection, new_slug):
                    new_slug = with_suffix(new_slug)
                changes = {**changes, "slug": new_slug}
            # Tags first: the update returns the article with them.
            if "tagList" in changes:
                await queries.set_tags(
                    connection,
                    article["id"],
                    article["created_at"],
                    normalize_tags(changes["tagList"] or []),
                )
            row = await queries.update_article(connection, article["id"], changes)
            await record_event(
                connection,
                ARTICLE_UPDATED,
                {
                    "id": article["id"],
                    "slug": new_slug,
                    "authorId": caller.id,
                    "title": row["title"],
                },
            )
        await self._changed(slug, new_slug)
        return await self.reads.compose((await self.reads.with_authors([row]))[0], caller)

    async def delete(self, caller: Caller, slug: str, reason: str | None = None) -> None:
        """The author deletes an article; so may a moderator, and that is told to the audit
        log (chat_service keeps it) as a `moderation.action` event with its reason."""
        async with self.pool.acquire() as connection, connection.transaction():
            article = await queries.lock_article_by_slug(connection, slug)
            if article is None:
                raise NotFound(f"article {slug} not found")
            if article["author_id"] != caller.id:
                if not caller.moderates:
                    raise Forbidden("only the author may change this article")
                await _moderated(
                    connection,
                    caller,
                    "article.delete",
                    f"article:{slug}",
                    reason,
                    article["author_id"],
                    {"slug": slug, "title": article["title"]},
                )
            await queries.delete_article(connection, article["id"])
            await record_event(
                connection, ARTICLE_DELETED, {"id": article["id"], "authorId": article["author_id"]}
            )
        await self._changed(slug)

    async def _changed(self, *slugs: str, lists: Sequence[str] | None = None) -> None:
        await self.cache.invalidate(*slugs, lists=lists)
        self.relay.wake()

    async def set_favorite(self, caller: Caller, slug: str, favorite: bool) -> ComposedArticle:
        """Records the like in social and answers from its reply (the like count and flag)
        and the cached article; the author's follow counts, which the like does not change,
        are read meanwhile."""
        article = await self.cache.article(slug, self.reads.load_article)
        if article is None:
            raise NotFound(f"article {slug} not found")
        (likes, favorited), counts = await asyncio.gather(
            self.social.set_like(
                article.id,
                caller.id,
                favorite,
                # What the like's event tells the notification of the recipe's author.
                {
                    "authorId": article.author_id,
                    "slug": article.fields["slug"],
                    "title": article.fields["title"],
                },
            ),
            self.reads.counts([], [article.author_id], caller, degrade=True),
        )
        liked = frozenset({article.id}) if favorited else frozenset()
        answer = Counts({article.id: likes}, counts.follows, liked, counts.following)
        return composed_article(article, answer)

    # Comments

    async def add_comment(
        self, caller: Caller, slug: str, body: str, seal: Seal = no_seal
    ) -> ComposedComment:
        # The author's part first, outside the transaction: nobody follows themselves, so
        # it needs no viewer.
        author = (await self.reads.authors([caller.id], None, degrade=True))[caller.id]
        async with self.pool.acquire() as connection, sealed_write(connection, seal):
            row = await queries.insert_comment(connection, slug, caller.id, body, COMMENT_CREATED)
            if row is None:
                raise NotFound(f"article {slug} not found")
            comment = composed_comment(row, author)
            await seal(connection, 200, comment)
        self.relay.wake()
        return comment

    async def delete_comment(
        self, caller: Caller, slug: str, comment_id: int, reason: str | None = None
    ) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            comment = await queries.get_comment(
                connection, await existing_article_id(connection, slug), comment_id
            )
            if comment is None:
                raise NotFound(f"comment {comment_id} not found")
            if comment["author_id"] != caller.id:
                if not caller.moderates:
                    raise Forbidden("only the author may delete this comment")
                target = f"comment:{slug}/{comment_id}"
                removed = {"slug": slug, "commentId": comment_id, "body": comment["body"]}
                await _moderated(
                    connection,
                    caller,
                    "comment.delete",
                    target,
                    reason,
                    comment["author_id"],
                    removed,
                )
            await queries.delete_comment(connection, comment_id)
            # Its notifications go with it.
            deleted = {"id": comment_id, "articleId": comment["article_id"], "slug": slug}
            await record_event(connection, COMMENT_DELETED, deleted)
        self.relay.wake()
