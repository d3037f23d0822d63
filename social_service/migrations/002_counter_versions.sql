-- Each counter row's version, drawn from one sequence in the transaction that changed it:
-- the copies published to Redis (shared/socialfacts.py) replace each other only in order.
CREATE SEQUENCE counter_versions;
ALTER TABLE like_counts ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE follow_counts ADD COLUMN version bigint NOT NULL DEFAULT 0;
