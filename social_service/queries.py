"""Every SQL statement of social_service."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from shared.contracts.social_facts import FollowCounts, IdSet, LikeCount

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
            """INSERT INTO follow_counts (user_id, followers, following, version)
               SELECT id, (id = $2)::int, (id = $1)::int, nextval('counter_versions')
               FROM unnest(ARRAY[$1::bigint, $2::bigint]) AS id ORDER BY id
               ON CONFLICT (user_id) DO UPDATE SET
                   followers = follow_counts.followers + EXCLUDED.followers,
                   following = follow_counts.following + EXCLUDED.following,
                   version = EXCLUDED.version""",
            follower_id,
            followee_id,
        )
    else:
        # A follow existed, so both rows exist: only decrement them.
        await connection.execute(
            """UPDATE follow_counts SET
                   followers = followers - (user_id = $2)::int,
                   following = following - (user_id = $1)::int,
                   version = nextval('counter_versions')
               WHERE user_id IN (
                   SELECT user_id FROM follow_counts WHERE user_id IN ($1, $2)
                   ORDER BY user_id FOR UPDATE
               )""",
            follower_id,
            followee_id,
        )


async def follow_counts(
    connection: asyncpg.Connection, user_ids: Sequence[int]
) -> dict[int, FollowCounts]:
    """Each user's counters; a user without a row has zeros at version 0."""
    rows = await connection.fetch(
        """SELECT user_id, followers, following, version FROM follow_counts
           WHERE user_id = ANY($1::bigint[])""",
        list(user_ids),
    )
    found = {row["user_id"]: FollowCounts(*row.values()) for row in rows}
    return {i: found.get(i) or FollowCounts(i, 0, 0, 0) for i in user_ids}


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


async def add_like(connection: asyncpg.Connection, article_id: int, user_id: int) -> bool:
    inserted = await connection.fetchval(
        """INSERT INTO likes (article_id, user_id) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING true""",
        article_id,
        user_id,
    )
    if inserted:
        await connection.execute(
            """INSERT INTO like_counts (article_id, likes, version)
               VALUES ($1, 1, nextval('counter_versions'))
               ON CONFLICT (article_id) DO UPDATE
               SET likes = like_counts.likes + 1, version = EXCLUDED.version""",
            article_id,
        )
        await connection.execute(
            """INSERT INTO user_likes (user_id, likes, version)
               VALUES ($1, 1, nextval('counter_versions'))
               ON CONFLICT (user_id) DO UPDATE
               SET likes = user_likes.likes + 1, version = EXCLUDED.version""",
            user_id,
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
            """UPDATE like_counts SET likes = likes - 1, version = nextval('counter_versions')
               WHERE article_id = $1""",
            article_id,
        )
        await connection.execute(
            """UPDATE user_likes SET likes = likes - 1, version = nextval('counter_versions')
               WHERE user_id = $1""",
            user_id,
        )
    return bool(deleted)


async def like_counts(
    connection: asyncpg.Connection, article_ids: Sequence[int]
) -> dict[int, LikeCount]:
    """Each article's like counter; an article without a row has 0 at version 0."""
    rows = await connection.fetch(
        "SELECT article_id, likes, version FROM like_counts WHERE article_id = ANY($1::bigint[])",
        list(article_ids),
    )
    found = {row["article_id"]: LikeCount(*row.values()) for row in rows}
    return {i: found.get(i) or LikeCount(i, 0, 0) for i in article_ids}


async def liked_article_ids(connection: asyncpg.Connection, user_id: int) -> list[int]:
    rows = await connection.fetch(
        "SELECT article_id FROM likes WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2",
        user_id,
        MAX_IDS,
    )
    return [row["article_id"] for row in rows]


async def forget_user(
    connection: asyncpg.Connection, user_id: int
) -> tuple[list[LikeCount], list[FollowCounts]]:
    """Removes a deleted user's follows and likes, and corrects every counter they touched;
    returns those counters as they are now."""
    follows = await connection.fetch(
        """WITH gone AS (DELETE FROM follows WHERE follower_id = $1 RETURNING followee_id)
           UPDATE follow_counts c
           SET followers = c.followers - 1, version = nextval('counter_versions')
           FROM gone WHERE c.user_id = gone.followee_id
           RETURNING c.user_id, c.followers, c.following, c.version""",
        user_id,
    )
    follows += await connection.fetch(
        """WITH gone AS (DELETE FROM follows WHERE followee_id = $1 RETURNING follower_id)
           UPDATE follow_counts c
           SET following = c.following - 1, version = nextval('counter_versions')
           FROM gone WHERE c.user_id = gone.follower_id
           RETURNING c.user_id, c.followers, c.following, c.version""",
        user_id,
    )
    await connection.execute("DELETE FROM follow_counts WHERE user_id = $1", user_id)
    await connection.execute("DELETE FROM user_likes WHERE user_id = $1", user_id)
    likes = await connection.fetch(
        """WITH gone AS (DELETE FROM likes WHERE user_id = $1 RETURNING article_id)
           UPDATE like_counts c SET likes = c.likes - 1, version = nextval('counter_versions')
           FROM gone WHERE c.article_id = gone.article_id
           RETURNING c.article_id, c.likes, c.version""",
        user_id,
    )
    return [LikeCount(*row.values()) for row in likes], [
        FollowCounts(*row.values()) for row in follows
    ]


async def forget_article(connection: asyncpg.Connection, article_id: int) -> None:
    # The likers' published sets keep the id until they next change: harmless, since no
    # page shows a deleted article.
    await connection.execute(
        """WITH gone AS (DELETE FROM likes WHERE article_id = $1 RETURNING user_id)
           UPDATE user_likes u SET likes = u.likes - 1, version = nextval('counter_versions')
           FROM gone WHERE u.user_id = gone.user_id""",
        article_id,
    )
    await connection.execute("DELETE FROM like_counts WHERE article_id = $1", article_id)


async def liked_set(connection: asyncpg.Connection, user_id: int) -> IdSet:
    """Every article the user likes, with the set's version, in one snapshot."""
    row = await connection.fetchrow(
        """SELECT coalesce((SELECT version FROM user_likes WHERE user_id = $1), 0) AS version,
                  ARRAY(SELECT article_id FROM likes WHERE user_id = $1 LIMIT $2) AS ids""",
        user_id,
        MAX_IDS + 1,
    )
    return IdSet(user_id, row["ids"], row["version"])


async def following_set(connection: asyncpg.Connection, user_id: int) -> IdSet:
    """Every user the user follows, with the set's version, in one snapshot."""
    row = await connection.fetchrow(
        """SELECT coalesce((SELECT version FROM follow_counts WHERE user_id = $1), 0) AS version,
                  ARRAY(SELECT followee_id FROM follows WHERE follower_id = $1
                        ORDER BY created_at DESC LIMIT $2) AS ids""",
        user_id,
        MAX_IDS + 1,
    )
    return IdSet(user_id, row["ids"], row["version"])


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
                  coalesce(c.version, 0) AS version,
                  EXISTS (SELECT 1 FROM likes l WHERE l.article_id = a.id AND l.user_id = $3)
                      AS viewer_flag
           FROM unnest($1::bigint[]) AS a (id)
           LEFT JOIN like_counts c ON c.article_id = a.id
           UNION ALL
           SELECT 'author', u.id, coalesce(c.followers, 0), coalesce(c.following, 0),
                  coalesce(c.version, 0),
                  EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $3 AND f.followee_id = u.id)
           FROM unnest($2::bigint[]) AS u (id)
           LEFT JOIN follow_counts c ON c.user_id = u.id""",
        list(article_ids),
        list(author_ids),
        viewer_id,
    )
    return rows
