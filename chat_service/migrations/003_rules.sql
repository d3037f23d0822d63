-- Attachments, scheduled messages, comments on messages, reports and bans.
CREATE TABLE attachments (
    id text PRIMARY KEY,
    owner_id bigint NOT NULL,
    filename text NOT NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,
    -- Set when a message first shows the file; a file that leaves with its last message is
    -- removed then, so the clean-up only ever looks at files never attached.
    attached boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The clean-up of files never attached reads them by age.
CREATE INDEX attachments_unattached ON attachments (created_at) WHERE NOT attached;

-- A scheduled message has no seq until it is sent: it takes the chat's next one then.
ALTER TABLE messages
    ALTER COLUMN seq DROP NOT NULL,
    ADD COLUMN send_at timestamptz,
    ADD COLUMN attachment_id text REFERENCES attachments (id) ON DELETE SET NULL,
    ADD COLUMN comments_count integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT messages_sent_or_scheduled CHECK ((seq IS NULL) = (send_at IS NOT NULL));

-- The delivery job reads due messages by time; an author lists their own per chat.
CREATE INDEX messages_due ON messages (send_at) WHERE seq IS NULL;
CREATE INDEX messages_scheduled_by_author ON messages (author_id, chat_id) WHERE seq IS NULL;
-- Downloads check where a file was posted; clean-ups check whether it still is.
CREATE INDEX messages_by_attachment ON messages (attachment_id) WHERE attachment_id IS NOT NULL;

CREATE TABLE message_comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    author_id bigint NOT NULL REFERENCES users (id),
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A thread is listed oldest first.
CREATE INDEX message_comments_thread ON message_comments (message_id, id);

-- Reports and bans are kept for moderators: nothing here is deleted.
CREATE TABLE reports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reporter_id bigint NOT NULL REFERENCES users (id),
    reported_id bigint NOT NULL REFERENCES users (id),
    reason text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Counting the recent reports about a user, and a reporter's earlier report.
CREATE INDEX reports_about ON reports (reported_id, created_at);

CREATE TABLE bans (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    reason text NOT NULL,
    starts_at timestamptz NOT NULL DEFAULT now(),
    ends_at timestamptz NOT NULL
);

-- A user's bans, the latest first.
CREATE INDEX bans_of_user ON bans (user_id, ends_at DESC);
