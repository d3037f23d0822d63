"""Every SQL statement of posts_service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg

# Columns of an article as lists show it (no body) and as one article shows it.
LIST_COLUMNS = """a.id, a.slug, a.title, a.description, a.author_id, a.complexity,
    a.cooking_minutes, a.ingredients, a.media, a.created_at, a.updated_at,
    ARRAY(SELECT t.name FROM article_tags at JOIN tags t ON t.id = at.tag_id
          WHERE at.article_id = a.id ORDER BY t.name) AS tag_list"""
FULL_COLUMNS = LIST_COLUMNS + ", a.body"
# What an insert returns: a new article has no tags yet, its caller knows them.
_INSERTED = """id, slug, title, description, body, author_id, complexity, cooking_minutes,
    ingredients, media, created_at, updated_at"""
# The number of all articles: the slots of the counter that 003_article_counters keeps.
_ALL_ARTICLES = "(SELECT coalesce(sum(articles), 0) FROM article_totals)"

# A keyset position in a newest-first list: (created_at, id) of the last article shown.
Position = tuple[datetime, int]


# A new article is one statement of data-modifying CTEs, so its own transaction: the row, its
# tags (each created or counted by the upsert, in name order so that concurrent articles lock
# shared tags in the same order), their links and the outbox row (as shared/events'
# record_event writes it). A taken slug inserts nothing at all, and the caller tries another.
_CREATE = f"""
WITH article AS (
    INSERT INTO articles (slug, title, description, body, author_id, complexity,
        cooking_minutes, ingredients, media)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (slug) DO NOTHING RETURNING {_INSERTED}
), chosen AS (
    INSERT INTO tags AS t (name, article_count)
    SELECT name, 1 FROM unnest($10::text[]) AS name
    WHERE EXISTS (SELECT FROM article) ORDER BY 1
    ON CONFLICT (name) DO UPDATE SET article_count = t.article_count + 1
    RETURNING id
), linked AS (
    INSERT INTO article_tags (article_id, tag_id, created_at)
    SELECT article.id, chosen.id, article.created_at FROM article, chosen
), event AS (
    INSERT INTO outbox (event_id, type, data)
    SELECT gen_random_uuid(), $11,
           jsonb_build_object('id', id, 'slug', slug, 'authorId', author_id, 'title', title)
    FROM article
)
SELECT * FROM article
"""


async def insert_article(
    connection: asyncpg.Connection,
    slug: str,
    author_id: int,
    fields: dict[str, Any],
    tags: Sequence[str],
    event_type: str,
) -> asyncpg.Record | None:
    """The new article's row, stored with its tags and its event, or None when the slug is
    taken (no error, so no savepoint)."""
    return await connection.fetchrow(
        _CREATE,
        slug,
        fields["title"],
        fields["description"],
        fields["body"],
        author_id,
        fields.get("complexity"),
        fields.get("cookingMinutes"),
        fields.get("ingredients") or [],
        fields.get("media") or [],
        sorted(set(tags)),
        event_type,
    )


_UPDATABLE = {
    "title": "title",
    "description": "description",
    "body": "body",
    "complexity": "complexity",
    "cookingMinutes": "cooking_minutes",
    "ingredients": "ingredients",
    "media": "media",
    "slug": "slug",
}


async def update_article(
    connection: asyncpg.Connection, article_id: int, changes: dict[str, Any]
) -> asyncpg.Record:
    """Applies the changes and returns the article as it now is (tags included: they are
    set before, in the same transaction)."""
    columns = [(_UPDATABLE[k], v) for k, v in changes.items() if k in _UPDATABLE]
    assignments = "".join(f"{column} = ${i}, " for i, (column, _) in enumerate(columns, start=2))
    row: asyncpg.Record = await connection.fetchrow(
        f"""UPDATE articles a SET {assignments}updated_at = now() WHERE a.id = $1
            RETURNING {FULL_COLUMNS}""",
        article_id,
        *(value for _, value in columns),
    )
    return row


async def slug_taken(connection: asyncpg.Connection, slug: str) -> bool:
    taken: bool = await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM articles WHERE slug = $1)", slug
    )
    return taken


async def lock_article_by_slug(connection: asyncpg.Connection, slug: str) -> asyncpg.Record | None:
    return await connection.fetchrow(
        "SELECT id, author_id, title, created_at FROM articles WHERE slug = $1 FOR UPDATE", slug
    )


async def delete_article(connection: asyncpg.Connection, article_id: int) -> None:
    await _release_tags(connection, article_id)
    await connection.execute("DELETE FROM articles WHERE id = $1", article_id)


async def set_tags(
    connection: asyncpg.Connection, article_id: int, created_at: Any, names: Sequence[str]
) -> None:
    """Replaces an article's tags, keeping every tag's article count exact."""
    await _release_tags(connection, article_id)
    if not names:
        return
    # One statement: each tag created or counted by the upsert, in name order so that
    # concurrent articles lock shared tags in the same order and cannot deadlock on them.
    await connection.execute(
        """WITH chosen AS (
               INSERT INTO tags AS t (name, article_count)
               SELECT name, 1 FROM unnest($2::text[]) AS name ORDER BY 1
               ON CONFLICT (name) DO UPDATE SET article_count = t.article_count + 1
               RETURNING id
           )
           INSERT INTO article_tags (article_id, tag_id, created_at)
           SELECT $1, id, $3 FROM chosen""",
        article_id,
        sorted(set(names)),
        created_at,
    )


async def _release_tags(connection: asyncpg.Connection, article_id: int) -> None:
    await connection.execute(
        """WITH gone AS (DELETE FROM article_tags WHERE article_id = $1 RETURNING tag_id)
           UPDATE tags SET article_count = article_count - 1
           WHERE id IN (SELECT tag_id FROM gone)""",
        article_id,
    )


async def get_article_by_slug(connection: asyncpg.Connection, slug: str) -> asyncpg.Record | None:
    return await connection.fetchrow(
        f"SELECT {FULL_COLUMNS} FROM articles a WHERE a.slug = $1", slug
    )


async def get_article_by_id(
    connection: asyncpg.Connection, article_id: int
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        f"SELECT {FULL_COLUMNS} FROM articles a WHERE a.id = $1", article_id
    )


async def _page(
    connection: asyncpg.Connection, sql: str, args: Sequence[Any], total: str, *total_args: Any
) -> tuple[list[asyncpg.Record], int]:
    """A page whose statement carries the number of all matches in a `total` column
    (computed once, as an InitPlan); only an empty page asks for it on its own."""
    rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
    if rows:
        return rows, int(rows[0]["total"])
    return rows, int(await connection.fetchval(f"SELECT {total}", *total_args) or 0)


def _keyset(columns: str, before: Position | None, args: list[Any], prefix: str = "WHERE") -> str:
    """The condition that starts a newest-first list after `before` (appending its values
    to `args`), or nothing."""
    if before is None:
        return ""
    args.extend(before)
    return f"{prefix} ({columns}) < (${len(args) - 1}, ${len(args)})"


# Page ids are chosen first, from the index alone, and the columns (with the tag subquery)
# read only for the rows of the page: with OFFSET, rows skipped cost an index entry each.


async def list_recent(
    connection: asyncpg.Connection, limit: int, offset: int, before: Position | None = None
) -> tuple[list[asyncpg.Record], int]:
    args: list[Any] = [limit, offset]
    where = _keyset("created_at, id", before, args)
    return await _page(
        connection,
        f"""SELECT {LIST_COLUMNS}, {_ALL_ARTICLES} AS total FROM (
                SELECT id FROM articles {where}
                ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2
            ) page JOIN articles a ON a.id = page.id
            ORDER BY a.created_at DESC, a.id DESC""",
        args,
        _ALL_ARTICLES,
    )


async def count_all(connection: asyncpg.Connection) -> int:
    total: int = await connection.fetchval(f"SELECT {_ALL_ARTICLES}")
    return total


async def list_by_tag(
    connection: asyncpg.Connection,
    tag: str,
    limit: int,
    offset: int,
    before: Position | None = None,
) -> tuple[list[asyncpg.Record], int]:
    args: list[Any] = [tag, limit, offset]
    where = _keyset("at.created_at, at.article_id", before, args, "AND")
    total = "(SELECT article_count FROM tags WHERE name = $1)"
    # The tag's id as a constant (not a join), so that the page is read in the order of
    # article_tags_by_tag: with a join the planner sorted every article of the tag.
    return await _page(
        connection,
        f"""SELECT {LIST_COLUMNS}, {total} AS total FROM (
                SELECT at.article_id FROM article_tags at
                WHERE at.tag_id = (SELECT id FROM tags WHERE name = $1) {where}
                ORDER BY at.created_at DESC, at.article_id DESC
                LIMIT $2 OFFSET $3
            ) page JOIN articles a ON a.id = page.article_id
            ORDER BY a.created_at DESC, a.id DESC""",
        args,
        total,
        tag,
    )


async def list_by_authors(
    connection: asyncpg.Connection,
    author_ids: Sequence[int],
    limit: int,
    offset: int,
    before: Position | None = None,
) -> tuple[list[asyncpg.Record], int]:
    # Each author's count is kept by 003_article_counters: a feed of 500 authors sums 500
    # rows instead of counting their articles.
    total = "(SELECT coalesce(sum(articles), 0) FROM author_totals WHERE author_id = ANY($1))"
    return await _list_where_any(connection, "author_id", author_ids, limit, offset, before, total)


async def list_by_ids(
    connection: asyncpg.Connection,
    article_ids: Sequence[int],
    limit: int,
    offset: int,
    before: Position | None = None,
) -> tuple[list[asyncpg.Record], int]:
    # At most the ids social lists (MAX_IDS), counted from the primary key.
    total = "(SELECT count(*) FROM articles WHERE id = ANY($1))"
    return await _list_where_any(connection, "id", article_ids, limit, offset, before, total)


async def _list_where_any(
    connection: asyncpg.Connection,
    column: Literal["author_id", "id"],
    values: Sequence[int],
    limit: int,
    offset: int,
    before: Position | None,
    total: str,
) -> tuple[list[asyncpg.Record], int]:
    """Articles whose `column` is one of `values`, newest first, and how many there are."""
    args: list[Any] = [list(values), limit, offset]
    where = _keyset("created_at, id", before, args, "AND")
    return await _page(
        connection,
        f"""SELECT {LIST_COLUMNS}, {total} AS total FROM (
                SELECT id FROM articles WHERE {column} = ANY($1::bigint[]) {where}
                ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
            ) page JOIN articles a ON a.id = page.id
            ORDER BY a.created_at DESC, a.id DESC""",
        args,
        total.replace("$1", "$1::bigint[]"),
        list(values),
    )


# Search ranks the SEARCH_CANDIDATES newest matches, not every match: ranking reads each
# match's whole search vector, which grew with the data (76 ms for 6,000 matches at 300,000
# articles). articlesCount counts the same candidates, so it and the pages agree.
SEARCH_CANDIDATES = 500


async def search(
    connection: asyncpg.Connection,
    text: str,
    limit: int,
    offset: int,
    before: Position | None = None,
) -> tuple[list[asyncpg.Record], int]:
    """The most relevant of the newest matches (older than `before`, when given)."""
    args: list[Any] = [text, limit, offset]
    older = _keyset("created_at, id", before, args, "AND")
    count_args: list[Any] = [text]
    count_older = _keyset("created_at, id", before, count_args, "AND")

    def candidates(keyset: str) -> str:
        return f"""SELECT id, created_at, search FROM articles
                   WHERE search @@ websearch_to_tsquery('english', $1) {keyset}
                   ORDER BY created_at DESC, id DESC LIMIT {SEARCH_CANDIDATES}"""

    return await _page(
        connection,
        f"""SELECT {LIST_COLUMNS}, page.total FROM (
                SELECT c.id, ts_rank(c.search, websearch_to_tsquery('english', $1)) AS rank,
                       count(*) OVER () AS total
                FROM ({candidates(older)}) c
                ORDER BY rank DESC, c.created_at DESC, c.id DESC LIMIT $2 OFFSET $3
            ) page JOIN articles a ON a.id = page.id
            ORDER BY page.rank DESC, a.created_at DESC, a.id DESC""",
        args,
        f"(SELECT count(*) FROM ({candidates(count_older)}) c)",
        *count_args,
    )


async def popular_tags(connection: asyncpg.Connection, limit: int) -> list[str]:
    rows = await connection.fetch(
        """SELECT name FROM tags WHERE article_count > 0
           ORDER BY article_count DESC, name LIMIT $1""",
        limit,
    )
    return [row["name"] for row in rows]


async def article_id(connection: asyncpg.Connection, slug: str) -> int | None:
    found: int | None = await connection.fetchval("SELECT id FROM articles WHERE slug = $1", slug)
    return found


async def insert_comment(
    connection: asyncpg.Connection, slug: str, author_id: int, body: str, event_type: str
) -> asyncpg.Record | None:
    """The new comment, or None when no article has this slug: one statement either way,
    with its event (`event_type`, as shared/events' record_event writes it), which names the
    recipe and its author for the notification it makes."""
    return await connection.fetchrow(
        """WITH article AS (
               SELECT id, author_id, slug, title FROM articles WHERE slug = $1
           ), comment AS (
               INSERT INTO comments (article_id, author_id, body)
               SELECT id, $2, $3 FROM article
               RETURNING id, article_id, author_id, body, created_at, updated_at
           ), event AS (
               INSERT INTO outbox (event_id, type, data)
               SELECT gen_random_uuid(), $4, jsonb_build_object(
                   'id', c.id, 'articleId', a.id, 'authorId', c.author_id,
                   'articleAuthorId', a.author_id, 'slug', a.slug, 'title', a.title,
                   'body', c.body)
               FROM comment c, article a
           )
           SELECT id, author_id, body, created_at, updated_at FROM comment""",
        slug,
        author_id,
        body,
        event_type,
    )


async def list_comments(connection: asyncpg.Connection, article_id: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT id, author_id, body, created_at, updated_at FROM comments
           WHERE article_id = $1 ORDER BY id""",
        article_id,
    )
    return rows


async def get_comment(
    connection: asyncpg.Connection, article_id: int, comment_id: int
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        "SELECT id, article_id, author_id, body FROM comments WHERE id = $1 AND article_id = $2",
        comment_id,
        article_id,
    )


async def delete_comment(connection: asyncpg.Connection, comment_id: int) -> None:
    await connection.execute("DELETE FROM comments WHERE id = $1", comment_id)


async def articles_by_author(
    connection: asyncpg.Connection, author_id: int
) -> list[tuple[int, str]]:
    rows = await connection.fetch("SELECT id, slug FROM articles WHERE author_id = $1", author_id)
    return [(row["id"], row["slug"]) for row in rows]


async def delete_comments_by_author(connection: asyncpg.Connection, author_id: int) -> None:
    await connection.execute("DELETE FROM comments WHERE author_id = $1", author_id)


async def insert_media(
    connection: asyncpg.Connection, media_id: str, owner_id: int, content_type: str, size: int
) -> asyncpg.Record:
    return await connection.fetchrow(
        """INSERT INTO media (id, owner_id, content_type, size) VALUES ($1, $2, $3, $4)
           RETURNING id, content_type, size, created_at""",
        media_id,
        owner_id,
        content_type,
        size,
    )


async def get_media(connection: asyncpg.Connection, media_id: str) -> asyncpg.Record | None:
    return await connection.fetchrow(
        "SELECT id, content_type, size, created_at FROM media WHERE id = $1", media_id
    )


async def owned_media(
    connection: asyncpg.Connection, owner_id: int, media_ids: Sequence[str]
) -> set[str]:
    rows = await connection.fetch(
        "SELECT id FROM media WHERE owner_id = $1 AND id = ANY($2::text[])",
        owner_id,
        list(media_ids),
    )
    return {row["id"] for row in rows}
