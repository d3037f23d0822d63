-- Each counter row's version, drawn from one sequence in the transaction that changed it:
-- the copies published to Redis (shared/socialfacts.py) replace each other only in order.
CREATE SEQUENCE counter_versions;
ALTER TABLE like_counts ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE follow_counts ADD COLUMN version bigint NOT NULL DEFAULT 0;

-- Per user: how many articles they like, and the version of that set of articles (bumped
-- with every like and unlike of theirs); the following set's version is follow_counts'.
CREATE TABLE user_likes (
    user_id bigint PRIMARY KEY,
    likes integer NOT NULL DEFAULT 0 CHECK (likes >= 0),
    version bigint NOT NULL DEFAULT 0
);
INSERT INTO user_likes (user_id, likes) SELECT user_id, count(*) FROM likes GROUP BY user_id;
