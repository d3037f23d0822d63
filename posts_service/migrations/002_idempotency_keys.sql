-- The outcome of each write made with an Idempotency-Key (see shared/web/idempotency.py): a
-- claim with a short lease while the request runs, then the answer, sealed in the write's
-- own transaction.
CREATE TABLE idempotency_keys (
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
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
