-- What moderators work with: the report queue (a report is open until a moderator resolves
-- it), bans by hand (`by_id`) and lifted ones, and the audit log of every moderator action of
-- every service (posts' arrive as events). Reports and bans written by an older release are
-- open reports and automatic bans.
ALTER TABLE reports
    ADD COLUMN status text NOT NULL DEFAULT 'open'
        CONSTRAINT reports_status_known CHECK (status IN ('open', 'resolved')),
    ADD COLUMN resolution text
        CONSTRAINT reports_resolution_known CHECK (resolution IN ('dismissed', 'upheld')),
    ADD COLUMN resolved_by bigint,
    ADD COLUMN resolved_at timestamptz,
    ADD COLUMN note text,
    -- The automatic ban this report helped cause: dismissing enough of them lifts it.
    ADD COLUMN ban_id bigint;

-- The queue lists by status, newest first.
CREATE INDEX reports_queue ON reports (status, id DESC);
CREATE INDEX reports_by_ban ON reports (ban_id) WHERE ban_id IS NOT NULL;

ALTER TABLE bans
    ADD COLUMN by_id bigint,
    ADD COLUMN lifted_by bigint,
    ADD COLUMN lifted_at timestamptz;

-- The active bans, soonest end last.
CREATE INDEX bans_by_end ON bans (ends_at);

CREATE TABLE moderation_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    moderator_id bigint NOT NULL,
    -- The moderator's name when they acted: the log outlives renames and deleted accounts.
    moderator text NOT NULL,
    service text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- An action told by another service's event is recorded once, however often it arrives.
    event_id text UNIQUE
);
