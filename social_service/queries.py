"""Every SQL statement of social_service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from shared.contracts.social_facts import FollowCounts, IdSet, LikeCount, SetChange

# Caps on id lists handed to posts_service (feed authors, liked articles): beyond them the
# oldest are left out rather than shipping unbounded lists between services.
MAX_IDS = 10_000


# A follow or a like is one statement of data-modifying CTEs, so its own transaction: the
# row, the counters and the outbox row (as shared/events' record_event writes it) commit
# together, in one round trip. The counters are upserted in place, under their row locks, so
# concurrent changes add up exactly, and what they return is what the answer and the
# published facts need. Counter rows are touched in one order everywhere (like_counts before
# user_likes, follow_counts by user id) so that concurrent changes cannot deadlock. A set's
# version (user_likes.version, follow_counts.following_version) moves by one per change of
# the set: shared/contracts/social_facts.py patches the published set from version v - 1.

_FOLLOW = """
WITH added AS (
    INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)
    ON CONFLICT DO NOTHING RETURNING follower_id
), counts AS (
    INSERT INTO follow_counts AS c (user_id, followers, following, version, following_version)
    SELECT id, (id = $2)::int, (id = $1)::int, nextval('counter_versions'), (id = $1)::int
    FROM added, unnest(ARRAY[$1::bigint, $2::bigint]) AS id ORDER BY id
    ON CONFLICT (user_id) DO UPDATE SET
        followers = c.followers + EXCLUDED.followers,
        following = c.following + EXCLUDED.following,
        version = EXCLUDED.version,
        following_version = c.following_version + EXCLUDED.following_version
    RETURNING c.user_id, c.followers, c.following, c.version, c.following_version
), event AS (
    INSERT INTO outbox (event_id, type, data)
    SELECT gen_random_uuid(), $3,
           jsonb_build_object('followerId', $1::bigint, 'followeeId', $2::bigint)
    FROM added
)
SELECT * FROM counts
"""

# A follow existed, so both counter rows exist: only decrement them, locked in id order.
_UNFOLLOW = """
WITH removed AS (
    DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2 RETURNING follower_id
), locked AS (
    SELECT user_id FROM follow_counts
    WHERE user_id IN ($1, $2) AND EXISTS (SELECT FROM removed)
    ORDER BY user_id FOR UPDATE
), counts AS (
    UPDATE follow_counts c SET
        followers = c.followers - (c.user_id = $2)::int,
        following = c.following - (c.user_id = $1)::int,
        version = nextval('counter_versions'),
        following_version = c.following_version + (c.user_id = $1)::int
    FROM locked WHERE c.user_id = locked.user_id
    RETURNING c.user_id, c.followers, c.following, c.version, c.following_version
), event AS (
    INSERT INTO outbox (event_id, type, data)
    SELECT gen_random_uuid(), $3,
           jsonb_build_object('followerId', $1::bigint, 'followeeId', $2::bigint)
    FROM removed
)
SELECT * FROM counts
"""


async def change_follow(
    connection: asyncpg.Connection, follower_id: int, followee_id: int, follow: bool, event: str
) -> tuple[dict[int, FollowCounts], SetChange] | None:
    """Adds or removes a follow with its counters and its event `event`; None when there was
    nothing to change (a repeat), and then no counter moves and no event is recorded.
    Otherwise both users' counters as they now are, and the change of the follower's set."""
    rows = await connection.fetch(_FOLLOW if follow else _UNFOLLOW, follower_id, followee_id, event)
    if not rows:
        return None
    counts = {
        row["user_id"]: FollowCounts(
            row["user_id"], row["followers"], row["following"], row["version"]
        )
        for row in rows
    }
    follower = next(row for row in rows if row["user_id"] == follower_id)
    change = SetChange(
        follower_id, followee_id, follow, follower["following_version"], follower["following"]
    )
    return counts, change


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


_LIKE = """
WITH added AS (
    INSERT INTO likes (article_id, user_id) VALUES ($1, $2)
    ON CONFLICT DO NOTHING RETURNING article_id, user_id
), article AS (
    INSERT INTO like_counts AS c (article_id, likes, version)
    SELECT article_id, 1, nextval('counter_versions') FROM added
    ON CONFLICT (article_id) DO UPDATE SET likes = c.likes + 1, version = EXCLUDED.version
    RETURNING c.likes, c.version
), liker AS (
    INSERT INTO user_likes AS u (user_id, likes, version)
    SELECT user_id, 1, 1 FROM added
    ON CONFLICT (user_id) DO UPDATE SET likes = u.likes + 1, version = u.version + 1
    RETURNING u.likes, u.version
), event AS (
    INSERT INTO outbox (event_id, type, data)
    SELECT gen_random_uuid(), $3,
           jsonb_build_object('articleId', article_id, 'userId', user_id) || $4::jsonb
    FROM added
)
SELECT article.likes, article.version, liker.likes AS liked, liker.version AS liked_version
FROM article, liker
"""

_UNLIKE = """
WITH removed AS (
    DELETE FROM likes WHERE article_id = $1 AND user_id = $2 RETURNING article_id, user_id
), article AS (
    UPDATE like_counts c SET likes = c.likes - 1, version = nextval('counter_versions')
    FROM removed WHERE c.article_id = removed.article_id
    RETURNING c.likes, c.version
), liker AS (
    UPDATE user_likes u SET likes = u.likes - 1, version = u.version + 1
    FROM removed WHERE u.user_id = removed.user_id
    RETURNING u.likes, u.version
), event AS (
    INSERT INTO outbox (event_id, type, data)
    SELECT gen_random_uuid(), $3, jsonb_build_object('articleId', article_id, 'userId', user_id)
    FROM removed
)
SELECT article.likes, article.version, liker.likes AS liked, liker.version AS liked_version
FROM article, liker
"""


async def change_like(
    connection: asyncpg.Connection,
    article_id: int,
    user_id: int,
    like: bool,
    event: str,
    told: dict[str, Any] | None = None,
) -> tuple[LikeCount, SetChange] | None:
    """Adds or removes a like with its counters and its event `event`; None when there was
    nothing to change (a repeat). Otherwise the article's counter as it now is, and the change
    of the user's liked set. A like's event carries `told` too (the recipe as posts named it,
    for its author's notification)."""
    if like:
        row = await connection.fetchrow(_LIKE, article_id, user_id, event, told or {})
    else:
        row = await connection.fetchrow(_UNLIKE, article_id, user_id, event)
    if row is None:
        return None
    return (
        LikeCount(article_id, row["likes"], row["version"]),
        SetChange(user_id, article_id, like, row["liked_version"], row["liked"]),
    )


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
           SET following = c.following - 1, version = nextval('counter_versions'),
               following_version = c.following_version + 1
           FROM gone WHERE c.user_id = gone.follower_id
           RETURNING c.user_id, c.followers, c.following, c.version""",
        user_id,
    )
    await connection.execute("DELETE FROM follow_counts WHERE user_id = $1", user_id)
    # Counters before the user's own row, in the order a like takes its locks, so that a
    # like racing the deletion waits instead of deadlocking.
    likes = await connection.fetch(
        """WITH gone AS (DELETE FROM likes WHERE user_id = $1 RETURNING article_id)
           UPDATE like_counts c SET likes = c.likes - 1, version = nextval('counter_versions')
           FROM gone WHERE c.article_id = gone.article_id
           RETURNING c.article_id, c.likes, c.version""",
        user_id,
    )
    await connection.execute("DELETE FROM user_likes WHERE user_id = $1", user_id)
    return [LikeCount(*row.values()) for row in likes], [
        FollowCounts(*row.values()) for row in follows
    ]


async def forget_article(connection: asyncpg.Connection, article_id: int) -> None:
    # The likers' published sets keep the id until they next change: harmless, since no
    # page shows a deleted article.
    await connection.execute(
        """WITH gone AS (DELETE FROM likes WHERE article_id = $1 RETURNING user_id)
           UPDATE user_likes u SET likes = u.likes - 1, version = u.version + 1
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
        """SELECT coalesce((SELECT following_version FROM follow_counts WHERE user_id = $1), 0)
                      AS version,
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
