-- The real-time events of chat that a client must not miss, other than message.created
-- (whose record is the message and its seq): membership changes, join requests and
-- decisions, edits, deletions, comments, read markers, a chat changed or deleted. Each is
-- recorded before it is published, so a replica that missed the publish (its subscription
-- broke, or the publishing replica could not reach Redis) reads it from here; `id` orders
-- them and names each one, so a socket gets it once. Typing and presence are not recorded.
-- Rows are pruned after a while (chat_service/live/log.py).
CREATE TABLE live_events (
    id bigserial PRIMARY KEY,
    -- The channel: 'c' a chat's, 'u' a user's; target is its id.
    scope text NOT NULL CHECK (scope IN ('c', 'u')),
    target bigint NOT NULL,
    -- The pub/sub payload (chat_service/live/wire.py), header line and event.
    payload text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The pruning.
CREATE INDEX live_events_created_at ON live_events (created_at);
