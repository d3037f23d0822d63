-- The outcome of each write made with an Idempotency-Key (see shared/web/idempotency.py): a
-- claim with a short lease while the request runs, then the answer, sealed in the write's
-- own transaction. Installed in the schema of each service that honours the header, as the
-- event tables are (shared/service/app.py).
--
-- IF NOT EXISTS: posts_service (002_idempotency_keys.sql) and chat_service
-- (004_idempotency_keys.sql) created this very table in their own migrations before it was
-- installed from here. Those files stay as they are (an applied migration never changes);
-- where they ran, this finds the table and the index there and changes nothing. The shape
-- must stay the same as theirs: releases that predate this file read and write it.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id bigint NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    token text NOT NULL,
    lease_until timestamptz NOT NULL,
    status integer,
    body text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- The pruning of expired keys.
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
