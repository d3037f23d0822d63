-- A session is one sign-in: the long-lived token of login carries its id (`sid`), and so do
-- the access tokens and the refresh-token family it rotates. Ending a session revokes every
-- token of it; the gateways load the revoked ids from here, so a revocation outlives Redis.
-- No foreign key to users: a deleted account's sessions must stay, revoked, until they expire.
CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    user_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- Ending every live session of a user (password change or reset, account deletion).
CREATE INDEX sessions_user_live ON sessions (user_id) WHERE revoked_at IS NULL;
-- The gateways page through the revoked sessions in the order they were revoked.
CREATE INDEX sessions_revoked ON sessions (revoked_at, id) WHERE revoked_at IS NOT NULL;
-- Forgetting sessions once they have ended.
CREATE INDEX sessions_expires ON sessions (expires_at);

-- The families issued before sessions existed become sessions, revoked if all their tokens are.
INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at)
SELECT family_id, min(user_id), min(created_at), max(expires_at),
       CASE WHEN bool_and(revoked_at IS NOT NULL) THEN max(revoked_at) END
FROM refresh_tokens
GROUP BY family_id;

ALTER TABLE refresh_tokens
    ADD CONSTRAINT refresh_tokens_session FOREIGN KEY (family_id) REFERENCES sessions (id) ON DELETE CASCADE;
