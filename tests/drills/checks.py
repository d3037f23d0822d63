"""After a drill: nothing lost, nothing applied twice, every counter equal to its recount."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from tests.drills.load import Ledger
from tests.waiting import until

EVENT_TIMEOUT = 30.0

# Each stored counter against a recount of the rows it counts; any row is a mismatch.
COUNTER_MISMATCHES = {
    "social.like_counts vs social.likes": """
        SELECT coalesce(c.article_id, l.article_id) AS id, c.likes AS stored, l.n AS recount
        FROM social.like_counts c
        FULL JOIN (SELECT article_id, count(*) AS n FROM social.likes GROUP BY article_id) l
          ON l.article_id = c.article_id
        WHERE coalesce(c.likes, 0) <> coalesce(l.n, 0)""",
    "social.user_likes vs social.likes": """
        SELECT coalesce(c.user_id, l.user_id) AS id, c.likes AS stored, l.n AS recount
        FROM social.user_likes c
        FULL JOIN (SELECT user_id, count(*) AS n FROM social.likes GROUP BY user_id) l
          ON l.user_id = c.user_id
        WHERE coalesce(c.likes, 0) <> coalesce(l.n, 0)""",
    "social.follow_counts.followers vs social.follows": """
        SELECT coalesce(c.user_id, f.followee_id) AS id, c.followers AS stored, f.n AS recount
        FROM social.follow_counts c
        FULL JOIN (SELECT followee_id, count(*) AS n FROM social.follows GROUP BY followee_id) f
          ON f.followee_id = c.user_id
        WHERE coalesce(c.followers, 0) <> coalesce(f.n, 0)""",
    "social.follow_counts.following vs social.follows": """
        SELECT coalesce(c.user_id, f.follower_id) AS id, c.following AS stored, f.n AS recount
        FROM social.follow_counts c
        FULL JOIN (SELECT follower_id, count(*) AS n FROM social.follows GROUP BY follower_id) f
          ON f.follower_id = c.user_id
        WHERE coalesce(c.following, 0) <> coalesce(f.n, 0)""",
    "posts.tags.article_count vs posts.article_tags": """
        SELECT t.id, t.article_count AS stored, count(a.article_id) AS recount
        FROM posts.tags t LEFT JOIN posts.article_tags a ON a.tag_id = t.id
        GROUP BY t.id HAVING t.article_count <> count(a.article_id)""",
    "chat.chats.last_seq vs chat.messages": """
        SELECT c.id, c.last_seq AS stored, max(m.seq) AS recount
        FROM chat.chats c JOIN chat.messages m ON m.chat_id = c.id
        GROUP BY c.id HAVING c.last_seq <> max(m.seq)""",
}


async def lost_or_doubled(db: asyncpg.Connection, ledger: Ledger) -> list[str]:
    """Every write answered 2xx is stored once; a write of unknown outcome at most once."""
    problems: list[str] = []
    articles = dict(
        await db.fetch(
            "SELECT title, count(*) FROM posts.articles WHERE title LIKE 'drill article %'"
            " GROUP BY title"
        )
    )
    for title in ledger.articles:
        if articles.get(title, 0) != 1:
            problems.append(f"article {title!r} answered 2xx is stored {articles.get(title, 0)}x")
    for title in ledger.unsure_articles:
        if articles.get(title, 0) > 1:
            problems.append(f"article {title!r} is stored {articles[title]}x")
    messages = dict(
        await db.fetch(
            "SELECT body, count(*) FROM chat.messages WHERE body LIKE 'drill message %'"
            " GROUP BY body"
        )
    )
    for body in ledger.messages:
        if messages.get(body, 0) != 1:
            problems.append(f"message {body!r} answered 2xx is stored {messages.get(body, 0)}x")
    for body in ledger.unsure_messages:
        if messages.get(body, 0) > 1:
            problems.append(f"message {body!r} is stored {messages[body]}x")
    likes = {
        (row["user_id"], row["slug"])
        for row in await db.fetch(
            "SELECT l.user_id, a.slug FROM social.likes l"
            " JOIN posts.articles a ON a.id = l.article_id"
        )
    }
    problems += [f"favorite {f} answered 2xx is missing" for f in ledger.favorites - likes]
    follows = {
        (row["follower_id"], row["username"])
        for row in await db.fetch(
            "SELECT f.follower_id, u.username FROM social.follows f"
            " JOIN auth.users u ON u.id = f.followee_id"
        )
    }
    problems += [f"follow {f} answered 2xx is missing" for f in ledger.follows - follows]
    registered = dict(
        await db.fetch(
            "SELECT username, count(*) FROM auth.users WHERE username = ANY($1::text[])"
            " GROUP BY username",
            sorted(ledger.registered),
        )
    )
    for name in ledger.registered:
        if registered.get(name, 0) != 1:
            problems.append(f"user {name} answered 2xx is stored {registered.get(name, 0)}x")
    return problems


async def counter_mismatches(db: asyncpg.Connection) -> dict[str, str]:
    """Each wrong counter (by table and row) with its stored value and its recount."""
    found = {}
    for name, query in COUNTER_MISMATCHES.items():
        for row in await db.fetch(query):
            found[f"{name}: {row['id']}"] = f"stored {row['stored']}, recount {row['recount']}"
    return found


async def events_handled(db: asyncpg.Connection, ledger: Ledger, since: datetime) -> list[str]:
    """Waits for the outboxes to drain of what was written `since`, and for every user
    registered to reach chat's copy of the users."""
    problems: list[str] = []

    async def unpublished() -> int:
        total = 0
        for schema in ("auth", "posts", "social"):
            total += await db.fetchval(
                f"SELECT count(*) FROM {schema}.outbox"
                " WHERE published_at IS NULL AND occurred_at >= $1",
                since,
            )
        return int(total)

    async def missing_users() -> list[str]:
        rows = await db.fetch(
            "SELECT u.username FROM auth.users u LEFT JOIN chat.users c ON c.id = u.id"
            " WHERE c.id IS NULL AND u.username = ANY($1::text[])",
            sorted(ledger.registered),
        )
        return [row["username"] for row in rows]

    async def settled() -> bool:
        return await unpublished() == 0 and not await missing_users()

    try:
        await until(settled, timeout=EVENT_TIMEOUT, every=0.5)
    except AssertionError:
        if count := await unpublished():
            problems.append(f"{count} events still unpublished after {EVENT_TIMEOUT:.0f} s")
        if missing := await missing_users():
            problems.append(
                f"{len(missing)} users never reached chat.users within {EVENT_TIMEOUT:.0f} s:"
                f" {missing[:10]}"
            )
    return problems


async def everything(
    db: asyncpg.Connection, ledger: Ledger, since: datetime, known: set[str]
) -> list[str]:
    """What went wrong in a drill that began at `since` (counters wrong before it: `known`)."""
    problems = await events_handled(db, ledger, since)
    problems += await lost_or_doubled(db, ledger)
    wrong = await counter_mismatches(db)
    problems += [
        f"{counter}: {values}" for counter, values in wrong.items() if counter not in known
    ]
    return problems
