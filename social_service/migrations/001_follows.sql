CREATE TABLE follows (
    follower_id bigint NOT NULL,
    followee_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);

-- "followers of X", newest first.
CREATE INDEX follows_by_followee ON follows (followee_id, created_at DESC);
-- "whom X follows", newest first (and the feed's id list).
CREATE INDEX follows_by_follower ON follows (follower_id, created_at DESC);

-- Counters kept in the transaction of each change, so reads never COUNT(*) a popular user.
CREATE TABLE follow_counts (
    user_id bigint PRIMARY KEY,
    followers integer NOT NULL DEFAULT 0 CHECK (followers >= 0),
    following integer NOT NULL DEFAULT 0 CHECK (following >= 0)
);

CREATE TABLE likes (
    article_id bigint NOT NULL,
    user_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, user_id)
);

-- "articles X liked", newest like first.
CREATE INDEX likes_by_user ON likes (user_id, created_at DESC);

CREATE TABLE like_counts (
    article_id bigint PRIMARY KEY,
    likes integer NOT NULL DEFAULT 0 CHECK (likes >= 0)
);
