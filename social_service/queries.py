"""Every SQL statement of social_service."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

# Caps on id lists handed to posts_service (feed authors, liked articles): beyond them the
# oldest are left out rather than shipping unbounded lists between services.
MAX_IDS = 10_000


async def add_follow(connection: asyncpg.Connection, follower_id: int, followee_id: int) -> bool:
    """True when the follow is new; counters move only then, so a repeat changes nothing."""
    inserted = await connection.fetchval(
        """INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING true""",
        follower_id,
        followee_id,
    )
    if inserted:
        await _move_follow_counts(connection, follower_id, followee_id, 1)
    return bool(inserted)


async def remove_follow(connection: asyncpg.Connection, follower_id: int, followee_id: int) -> bool:
    deleted = await connection.fetchval(
        "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2 RETURNING true",
        follower_id,
        followee_id,
    )
    if deleted:
        await _move_follow_counts(connection, follower_id, followee_id, -1)
    return bool(deleted)


async def _move_follow_counts(
    connection: asyncpg.Connection, follower_id: int, followee_id: int, delta: int
) -> None:
    # Rows are touched in id order so that two opposite follows cannot deadlock.
    if delta > 0:
        await connection.execute(
            """INSERT INTO follow_counts (user_id, followers, following)
               SELECT id, (id = $2)::int, (id = $1)::int
               FROM unnest(ARRAY[$1::bigint, $2::bigint]) AS id ORDER BY id
               ON CONFLICT (user_id) DO UPDATE SET
                   followers = follow_counts.followers + EXCLUDED.followers,
                   following = follow_counts.following + EXCLUDED.following""",
            follower_id,
            followee_id,
        )
    else:
        # A follow existed, so both rows exist: only decrement them.
        await connection.execute(
            """UPDATE follow_counts SET
                   followers = followers - (user_id = $2)::int,
                   following = following - (user_id = $1)::int
               WHERE user_id IN (
                   SELECT user_id FROM follow_counts WHERE user_id IN ($1, $2)
                   ORDER BY user_id FOR UPDATE
               )""",
            follower_id,
            followee_id,
        )


async def follow_counts(
    connection: asyncpg.Connection, user_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    rows = await connection.fetch(
        "SELECT user_id, followers, following FROM follow_counts WHERE user_id = ANY($1::bigint[])",
        list(user_ids),
    )
    return {row["user_id"]: (row["followers"], row["following"]) for row in rows}


async def followed_among(
    connection: asyncpg.Connection, follower_id: int, candidate_ids: Sequence[int]
) -> set[int]:
    rows = await connection.fetch(
        """SELECT followee_id FROM follows
           WHERE follower_id = $1 AND followee_id = ANY($2::bigint[])""",
        follower_id,
        list(candidate_ids),
    )
    return {row["followee_id"] for row in rows}


async def list_followers(
    connection: asyncpg.Connection, user_id: int, limit: int, offset: int
) -> list[int]:
    rows = await connection.fetch(
        """SELECT follower_id FROM follows WHERE followee_id = $1
           ORDER BY created_at DESC, follower_id LIMIT $2 OFFSET $3""",
        user_id,
        limit,
        offset,
    )
    return [row["follower_id"] for row in rows]


async def list_following(
    connection: asyncpg.Connection, user_id: int, limit: int, offset: int
) -> list[int]:
    rows = await connection.fetch(
        """SELECT followee_id FROM follows WHERE follower_id = $1
           ORDER BY created_at DESC, followee_id LIMIT $2 OFFSET $3""",
        user_id,
        limit,
        offset,
    )
    return [row["followee_id"] for row in rows]


async def following_ids(connection: asyncpg.Connection, user_id: int) -> list[int]:
    rows = await connection.fetch(
        """SELECT followee_id FROM follows WHERE follower_id = $1
           ORDER BY created_at DESC LIMIT $2""",
        user_id,
        MAX_IDS,
    )
    return [row["followee_id"] for row in rows]


async def add_like(connection: asyncpg.Connection, article_id: int, user_id: int) -> bool:
    inserted = await connection.fetchval(
        """INSERT INTO likes (article_id, user_id) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING true""",
        article_id,
        user_id,
    )
    if inserted:
        await connection.execute(
            """INSERT INTO like_counts (article_id, likes) VALUES ($1, 1)
               ON CONFLICT (article_id) DO UPDATE SET likes = like_counts.likes + 1""",
            article_id,
        )
    return bool(inserted)


async def remove_like(connection: asyncpg.Connection, article_id: int, user_id: int) -> bool:
    deleted = await connection.fetchval(
        "DELETE FROM likes WHERE article_id = $1 AND user_id = $2 RETURNING true",
        article_id,
        user_id,
    )
    if deleted:
        await connection.execute(
            "UPDATE like_counts SET likes = likes - 1 WHERE article_id = $1", article_id
        )
    return bool(deleted)


async def like_counts(connection: asyncpg.Connection, article_ids: Sequence[int]) -> dict[int, int]:
    rows = await connection.fetch(
        "SELECT article_id, likes FROM like_counts WHERE article_id = ANY($1::bigint[])",
        list(article_ids),
    )
    return {row["article_id"]: row["likes"] for row in rows}


async def liked_article_ids(connection: asyncpg.Connection, user_id: int) -> list[int]:
    rows = await connection.fetch(
        "SELECT article_id FROM likes WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2",
        user_id,
        MAX_IDS,
    )
    return [row["article_id"] for row in rows]


async def forget_user(connection: asyncpg.Connection, user_id: int) -> None:
    """Removes a deleted user's follows and likes, and corrects every counter they touched."""
    await connection.execute(
        """WITH gone AS (DELETE FROM follows WHERE follower_id = $1 RETURNING followee_id)
           UPDATE follow_counts c SET followers = c.followers - 1
           FROM gone WHERE c.user_id = gone.followee_id""",
        user_id,
    )
    await connection.execute(
        """WITH gone AS (DELETE FROM follows WHERE followee_id = $1 RETURNING follower_id)
           UPDATE follow_counts c SET following = c.following - 1
           FROM gone WHERE c.user_id = gone.follower_id""",
        user_id,
    )
    await connection.execute("DELETE FROM follow_counts WHERE user_id = $1", user_id)
    await connection.execute(
        """WITH gone AS (DELETE FROM likes WHERE user_id = $1 RETURNING article_id)
           UPDATE like_counts c SET likes = c.likes - 1
           FROM gone WHERE c.article_id = gone.article_id""",
        user_id,
    )


async def forget_article(connection: asyncpg.Connection, article_id: int) -> None:
    await connection.execute("DELETE FROM likes WHERE article_id = $1", article_id)
    await connection.execute("DELETE FROM like_counts WHERE article_id = $1", article_id)


async def page_summary(
    connection: asyncpg.Connection,
    article_ids: Sequence[int],
    author_ids: Sequence[int],
    viewer_id: int | None,
) -> list[asyncpg.Record]:
    """Everything a page of articles needs from social, in one round trip: per article its
    like count and whether the viewer liked it, per author the follow counts and whether the
    viewer follows them (the flags are false without a viewer)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """SELECT 'article' AS kind, a.id, coalesce(c.likes, 0) AS first, 0 AS second,
                  EXISTS (SELECT 1 FROM likes l WHERE l.article_id = a.id AND l.user_id = $3)
                      AS viewer_flag
           FROM unnest($1::bigint[]) AS a (id)
           LEFT JOIN like_counts c ON c.article_id = a.id
           UNION ALL
           SELECT 'author', u.id, coalesce(c.followers, 0), coalesce(c.following, 0),
                  EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $3 AND f.followee_id = u.id)
           FROM unnest($2::bigint[]) AS u (id)
           LEFT JOIN follow_counts c ON c.user_id = u.id""",
        list(article_ids),
        list(author_ids),
        viewer_id,
    )
    return rows
