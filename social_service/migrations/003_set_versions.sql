-- Each user's published sets (the articles they like, the users they follow) take every
-- change as a patch over the version just before it (shared/contracts/social_facts.py), so
-- a set's version moves by exactly one per change of that set: user_likes.version for the
-- liked set, and a column of its own for the followed set, which a new follower of the user
-- (a change of their counters, not of whom they follow) must not move.
ALTER TABLE follow_counts ADD COLUMN following_version bigint NOT NULL DEFAULT 0;
-- Continues from the version that the copies already published in Redis carry.
UPDATE follow_counts SET following_version = version;
