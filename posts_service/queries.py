"""Every SQL statement of posts_service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import asyncpg

# Columns of an article as lists show it (no body) and as one article shows it.
LIST_COLUMNS = """a.id, a.slug, a.title, a.description, a.author_id, a.complexity,
    a.cooking_minutes, a.ingredients, a.media, a.created_at, a.updated_at,
    ARRAY(SELECT t.name FROM article_tags at JOIN tags t ON t.id = at.tag_id
          WHERE at.article_id = a.id ORDER BY t.name) AS tag_list"""
FULL_COLUMNS = LIST_COLUMNS + ", a.body"


async def insert_article(
    connection: asyncpg.Connection, slug: str, author_id: int, fields: dict[str, Any]
) -> int:
    """Raises asyncpg.UniqueViolationError when the slug is taken."""
    article_id: int = await connection.fetchval(
        """INSERT INTO articles (slug, title, description, body, author_id, complexity,
               cooking_minutes, ingredients, media)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id""",
        slug,
        fields["title"],
        fields["description"],
        fields["body"],
        author_id,
        fields.get("complexity"),
        fields.get("cookingMinutes"),
        fields.get("ingredients") or [],
        fields.get("media") or [],
    )
    return article_id


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
) -> None:
    columns = [(_UPDATABLE[k], v) for k, v in changes.items() if k in _UPDATABLE]
    if not columns:
        return
    assignments = ", ".join(f"{column} = ${i}" for i, (column, _) in enumerate(columns, start=2))
    await connection.execute(
        f"UPDATE articles SET {assignments}, updated_at = now() WHERE id = $1",
        article_id,
        *(value for _, value in columns),
    )


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
    # Tags are created in name order so that concurrent articles cannot deadlock on them.
    await connection.execute(
        """INSERT INTO tags (name) SELECT unnest($1::text[]) ORDER BY 1
           ON CONFLICT (name) DO NOTHING""",
        sorted(names),
    )
    await connection.execute(
        """WITH chosen AS (
               SELECT id FROM tags WHERE name = ANY($2::text[]) ORDER BY id FOR UPDATE
           ), linked AS (
               INSERT INTO article_tags (article_id, tag_id, created_at)
               SELECT $1, id, $3 FROM chosen RETURNING tag_id
           )
           UPDATE tags SET article_count = article_count + 1
           WHERE id IN (SELECT tag_id FROM linked)""",
        article_id,
        list(names),
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


async def list_recent(
    connection: asyncpg.Connection, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    rows = await connection.fetch(
        f"""SELECT {LIST_COLUMNS} FROM articles a
            ORDER BY a.created_at DESC, a.id DESC LIMIT $1 OFFSET $2""",
        limit,
        offset,
    )
    total: int = await connection.fetchval("SELECT count(*) FROM articles")
    return rows, total


async def list_by_tag(
    connection: asyncpg.Connection, tag: str, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    rows = await connection.fetch(
        f"""SELECT {LIST_COLUMNS} FROM (
                SELECT at.article_id FROM article_tags at JOIN tags t ON t.id = at.tag_id
                WHERE t.name = $1 ORDER BY at.created_at DESC, at.article_id DESC
                LIMIT $2 OFFSET $3
            ) page JOIN articles a ON a.id = page.article_id
            ORDER BY a.created_at DESC, a.id DESC""",
        tag,
        limit,
        offset,
    )
    total = await connection.fetchval("SELECT article_count FROM tags WHERE name = $1", tag)
    return rows, total or 0


async def list_by_authors(
    connection: asyncpg.Connection, author_ids: Sequence[int], limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    return await _list_where_any(connection, "author_id", author_ids, limit, offset)


async def list_by_ids(
    connection: asyncpg.Connection, article_ids: Sequence[int], limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    return await _list_where_any(connection, "id", article_ids, limit, offset)


async def _list_where_any(
    connection: asyncpg.Connection,
    column: Literal["author_id", "id"],
    values: Sequence[int],
    limit: int,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    """Articles whose `column` is one of `values`, newest first, and how many there are."""
    rows = await connection.fetch(
        f"""SELECT {LIST_COLUMNS} FROM articles a WHERE a.{column} = ANY($1::bigint[])
            ORDER BY a.created_at DESC, a.id DESC LIMIT $2 OFFSET $3""",
        list(values),
        limit,
        offset,
    )
    total: int = await connection.fetchval(
        f"SELECT count(*) FROM articles WHERE {column} = ANY($1::bigint[])", list(values)
    )
    return rows, total


async def search(
    connection: asyncpg.Connection, text: str, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    rows = await connection.fetch(
        f"""SELECT {LIST_COLUMNS} FROM articles a, websearch_to_tsquery('english', $1) query
            WHERE a.search @@ query
            ORDER BY ts_rank(a.search, query) DESC, a.created_at DESC, a.id DESC
            LIMIT $2 OFFSET $3""",
        text,
        limit,
        offset,
    )
    total: int = await connection.fetchval(
        "SELECT count(*) FROM articles WHERE search @@ websearch_to_tsquery('english', $1)", text
    )
    return rows, total


async def popular_tags(connection: asyncpg.Connection, limit: int) -> list[str]:
    rows = await connection.fetch(
        """SELECT name FROM tags WHERE article_count > 0
           ORDER BY article_count DESC, name LIMIT $1""",
        limit,
    )
    return [row["name"] for row in rows]


async def insert_comment(
    connection: asyncpg.Connection, article_id: int, author_id: int, body: str
) -> asyncpg.Record:
    return await connection.fetchrow(
        """INSERT INTO comments (article_id, author_id, body) VALUES ($1, $2, $3)
           RETURNING id, author_id, body, created_at, updated_at""",
        article_id,
        author_id,
        body,
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
        "SELECT id, author_id FROM comments WHERE id = $1 AND article_id = $2",
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
