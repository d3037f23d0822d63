"""The data of `bench.scale`: grown straight into the database with COPY, in the proportions
of the standard data set, every derived fact recomputed from the rows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.seed import TAGS

USERS_PER_ARTICLE = 0.1  # the standard set: 50 users... here at least MIN_USERS
MIN_USERS = 600  # a user follows 500 authors
FOLLOWS_PER_USER = 10
LIKES_PER_ARTICLE = 2
COMMENTS_PER_ARTICLE = 0.5
CHAT_MESSAGES = 100_000
CHAT_MEMBERS = 100
SEARCH_WORD = "saffron"  # in about 2 % of the articles
# Users with fixed roles: who reads the feeds and who owns the measured chat.
FEED_10, FEED_500, CHAT_OWNER = 1, 2, 3
WORDS = [
    "chop",
    "stir",
    "taste",
    "simmer",
    "roast",
    "bake",
    "fry",
    "boil",
    "grill",
    "season",
    "whisk",
    "fold",
    "knead",
    "slice",
    "dice",
    "mince",
    "garlic",
    "onion",
    "tomato",
    "pepper",
    "butter",
    "flour",
    "sugar",
    "lemon",
    "ginger",
    "basil",
    "thyme",
    "rosemary",
    "cumin",
    "paprika",
    "cream",
    "cheese",
    "rice",
    "pasta",
    "bean",
    "lentil",
    "carrot",
    "potato",
    "spinach",
    "mushroom",
    "honey",
    "vinegar",
    "olive",
    "oil",
    "salt",
    "pan",
    "oven",
    "pot",
    "bowl",
    "crisp",
    "golden",
    "tender",
    "smoky",
    "fresh",
    "slow",
    "quick",
]
INGREDIENTS = [
    "chicken",
    "beef",
    "pork",
    "salmon",
    "tofu",
    "egg",
    "noodle",
    "couscous",
    "quinoa",
    "chickpea",
    "aubergine",
    "courgette",
    "pumpkin",
    "apple",
    "pear",
    "cherry",
    "almond",
    "walnut",
    "coconut",
    "chocolate",
    "vanilla",
    "cinnamon",
    "cardamom",
    "fennel",
    "leek",
    "celery",
    "cabbage",
    "kale",
    "broccoli",
    "cauliflower",
    "radish",
    "beetroot",
    "mango",
    "lime",
    "orange",
    "miso",
    "tahini",
    "yoghurt",
    "feta",
    "halloumi",
    "prawn",
    "mussel",
    "squid",
    "duck",
    "lamb",
    "turkey",
    "barley",
    "polenta",
]


@dataclass
class Loaded:
    articles: int = 0
    users: int = 0
    messages_other: int = 0
    chat_id: int = 0
    other_chat_id: int = 0


def users_for(articles: int) -> int:
    return max(MIN_USERS, int(articles * USERS_PER_ARTICLE))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


async def _copy(
    connection: asyncpg.Connection,
    table: str,
    schema: str,
    columns: list[str],
    records: list[tuple[Any, ...]],
) -> None:
    if records:
        await connection.copy_records_to_table(
            table, schema_name=schema, columns=columns, records=records
        )


@dataclass
class Growth:
    """One step of growth: up to `articles` articles and `users` users."""

    connection: asyncpg.Connection
    rng: random.Random
    loaded: Loaded
    articles: int
    users: int
    epoch: datetime = datetime(2025, 1, 1, tzinfo=UTC)


async def grow(database_url: str, loaded: Loaded, articles: int, password_hash: str) -> None:
    """Adds rows up to `articles` articles, then recomputes every derived fact.

    The steps draw from one random sequence, in this order, so that a size always gets the
    same rows."""
    connection = await asyncpg.connect(database_url)
    try:
        growth = Growth(connection, random.Random(articles), loaded, articles, users_for(articles))
        await grow_users(growth, password_hash)
        await grow_articles(growth)
        await grow_chats(growth)
        await recompute(connection)
        loaded.articles, loaded.users, loaded.messages_other = articles, growth.users, articles
    finally:
        await connection.close()


async def grow_users(g: Growth, password_hash: str) -> None:
    """Users in auth and chat's copy, and who follows whom."""
    connection, rng, epoch, loaded, users = g.connection, g.rng, g.epoch, g.loaded, g.users
    first_user = loaded.users + 1
    new_users = range(first_user, users + 1)
    await _copy(
        connection,
        "users",
        "auth",
        ["id", "username", "email", "password_hash", "created_at", "updated_at"],
        [(i, f"cook{i}", f"cook{i}@example.com", password_hash, epoch, epoch) for i in new_users],
    )
    await connection.execute("SELECT setval(pg_get_serial_sequence('auth.users', 'id'), $1)", users)
    await _copy(
        connection,
        "users",
        "chat",
        ["id", "username"],
        [(i, f"cook{i}") for i in new_users],
    )
    follows: set[tuple[int, int]] = set()
    if loaded.users == 0:
        follows |= {(FEED_10, b) for b in range(10, 20)}
        follows |= {(FEED_500, b) for b in range(10, 510)}
    for a in new_users:
        if a in (FEED_10, FEED_500):
            continue
        for b in rng.sample(range(1, users + 1), FOLLOWS_PER_USER):
            if a != b:
                follows.add((a, b))
    await _copy(
        connection,
        "follows",
        "social",
        ["follower_id", "followee_id", "created_at"],
        [(a, b, epoch) for a, b in follows],
    )


async def grow_articles(g: Growth) -> None:
    """Articles, newest last, one minute apart (the authors exclude the feed readers), their
    tags, likes and comments."""
    connection, rng, epoch, loaded = g.connection, g.rng, g.epoch, g.loaded
    articles, users = g.articles, g.users
    first = loaded.articles + 1
    new_articles = range(first, articles + 1)
    rows = []
    tag_rows = []
    for i in new_articles:
        created = epoch + timedelta(minutes=i)
        main = rng.choice(INGREDIENTS)
        extra = SEARCH_WORD if rng.random() < 0.02 else rng.choice(INGREDIENTS)
        rows.append(
            (
                i,
                f"recipe-{i}",
                f"Recipe {i}: {main} with {rng.choice(INGREDIENTS)}",
                f"A {rng.choice(WORDS)} dish of {main}",
                f"{_text(rng, 20)} {extra} {_text(rng, rng.randint(10, 40))}",
                rng.randint(4, users),
                rng.choice(["easy", "medium", "hard"]),
                rng.randint(5, 240),
                created,
                created,
            )
        )
        for tag in rng.sample(range(1, len(TAGS) + 1), rng.randint(1, 3)):
            tag_rows.append((i, tag, created))
    await _copy(
        connection,
        "articles",
        "posts",
        [
            "id",
            "slug",
            "title",
            "description",
            "body",
            "author_id",
            "complexity",
            "cooking_minutes",
            "created_at",
            "updated_at",
        ],
        rows,
    )
    await connection.execute(
        "SELECT setval(pg_get_serial_sequence('posts.articles', 'id'), $1)", articles
    )
    if loaded.articles == 0:
        await connection.executemany(
            "INSERT INTO posts.tags (name) VALUES ($1)", [(t,) for t in TAGS]
        )
    await _copy(
        connection, "article_tags", "posts", ["article_id", "tag_id", "created_at"], tag_rows
    )
    likes = {
        (rng.choice(new_articles), rng.randint(1, users))
        for _ in range(len(new_articles) * LIKES_PER_ARTICLE)
    }
    await _copy(
        connection,
        "likes",
        "social",
        ["article_id", "user_id", "created_at"],
        [(a, u, epoch) for a, u in likes],
    )
    comments = int(len(new_articles) * COMMENTS_PER_ARTICLE)
    await _copy(
        connection,
        "comments",
        "posts",
        ["article_id", "author_id", "body", "created_at", "updated_at"],
        [
            (rng.choice(new_articles), rng.randint(1, users), _text(rng, 12), epoch, epoch)
            for _ in range(comments)
        ],
    )


async def grow_chats(g: Growth) -> None:
    """The measured chat (CHAT_MESSAGES, once) and one that grows with the data."""
    connection, rng, epoch, loaded, articles = g.connection, g.rng, g.epoch, g.loaded, g.articles
    if loaded.chat_id == 0:
        loaded.chat_id = await connection.fetchval(
            """INSERT INTO chat.chats (kind, title, owner_id, private, last_seq)
               VALUES ('group', 'scale', $1, false, $2) RETURNING id""",
            CHAT_OWNER,
            CHAT_MESSAGES,
        )
        loaded.other_chat_id = await connection.fetchval(
            """INSERT INTO chat.chats (kind, title, owner_id, private)
               VALUES ('group', 'scale-other', $1, false) RETURNING id""",
            CHAT_OWNER,
        )
        members = range(CHAT_OWNER, CHAT_OWNER + CHAT_MEMBERS)
        for chat_id in (loaded.chat_id, loaded.other_chat_id):
            await _copy(
                connection,
                "chat_members",
                "chat",
                ["chat_id", "user_id", "role"],
                [(chat_id, u, "owner" if u == CHAT_OWNER else "member") for u in members],
            )
        await _copy(
            connection,
            "messages",
            "chat",
            ["chat_id", "seq", "author_id", "body", "created_at"],
            [
                (
                    loaded.chat_id,
                    seq,
                    rng.randrange(CHAT_OWNER, CHAT_OWNER + CHAT_MEMBERS),
                    _text(rng, 10),
                    epoch + timedelta(seconds=seq),
                )
                for seq in range(1, CHAT_MESSAGES + 1)
            ],
        )
    other = range(loaded.messages_other + 1, articles + 1)
    await _copy(
        connection,
        "messages",
        "chat",
        ["chat_id", "seq", "author_id", "body", "created_at"],
        [
            (
                loaded.other_chat_id,
                seq,
                rng.randrange(CHAT_OWNER, CHAT_OWNER + CHAT_MEMBERS),
                _text(rng, 10),
                epoch + timedelta(seconds=seq),
            )
            for seq in other
        ],
    )
    await connection.execute(
        "UPDATE chat.chats SET last_seq = $2 WHERE id = $1", loaded.other_chat_id, articles
    )


async def recompute(connection: asyncpg.Connection) -> None:
    """Every derived fact, recomputed from the rows, and the tables analysed."""
    await connection.execute(
        """
        TRUNCATE social.like_counts, social.user_likes, social.follow_counts;
        INSERT INTO social.like_counts (article_id, likes)
            SELECT article_id, count(*) FROM social.likes GROUP BY 1;
        INSERT INTO social.user_likes (user_id, likes)
            SELECT user_id, count(*) FROM social.likes GROUP BY 1;
        INSERT INTO social.follow_counts (user_id, followers, following)
            SELECT user_id, sum(followers), sum(following) FROM (
                SELECT followee_id AS user_id, 1 AS followers, 0 AS following
                FROM social.follows
                UNION ALL
                SELECT follower_id, 0, 1 FROM social.follows) f
            GROUP BY 1;
        UPDATE posts.tags t SET article_count =
            (SELECT count(*) FROM posts.article_tags at WHERE at.tag_id = t.id);
        TRUNCATE posts.article_totals, posts.author_totals;
        INSERT INTO posts.article_totals (slot, articles)
            SELECT 0, count(*) FROM posts.articles;
        INSERT INTO posts.author_totals (author_id, articles)
            SELECT author_id, count(*) FROM posts.articles GROUP BY 1;
        """
    )
    # Versions above any the services published before: Redis is emptied anyway.
    await connection.execute(
        """UPDATE social.like_counts SET version = nextval('social.counter_versions');
           UPDATE social.follow_counts SET version = nextval('social.counter_versions');
           UPDATE social.user_likes SET version = nextval('social.counter_versions')"""
    )
    for table in (
        "auth.users",
        "social.follows",
        "social.likes",
        "social.like_counts",
        "social.follow_counts",
        "social.user_likes",
        "posts.articles",
        "posts.article_tags",
        "posts.tags",
        "posts.comments",
        "chat.messages",
        "chat.users",
        "chat.chat_members",
    ):
        await connection.execute(f"VACUUM ANALYZE {table}")
