-- Users as chat shows them (filled from auth's events), chat details, messages with their
-- per-chat sequence, read markers, invite links and join requests.
CREATE TABLE users (
    id bigint PRIMARY KEY,
    username text NOT NULL,
    image text,
    deleted boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Lookups by name (direct chats, adding members); one live account per name.
CREATE UNIQUE INDEX users_by_username ON users (lower(username)) WHERE NOT deleted;

ALTER TABLE chats
    ADD COLUMN description text NOT NULL DEFAULT '',
    -- The counter of the chat's messages: the next message takes last_seq + 1 in the
    -- transaction that stores it, under this row's lock.
    ADD COLUMN last_seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_activity_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN message_ttl_seconds integer CHECK (message_ttl_seconds > 0),
    -- "smaller id:larger id" of a direct chat's two people: one direct chat per pair.
    ADD COLUMN direct_key text UNIQUE;

ALTER TABLE chat_members
    ADD COLUMN role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member')),
    -- The read marker: the highest seq the member has read; it never moves back.
    ADD COLUMN read_seq bigint NOT NULL DEFAULT 0;

CREATE TABLE messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id bigint NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    author_id bigint NOT NULL REFERENCES users (id),
    body text,
    reply_to bigint REFERENCES messages (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    edited_at timestamptz,
    deleted boolean NOT NULL DEFAULT false,
    expires_at timestamptz,
    UNIQUE (chat_id, seq)
);

-- History, resume and unread counts read (chat_id, seq) ranges through the unique index.
-- The expiry sweep reads due messages by time.
CREATE INDEX messages_expiring ON messages (expires_at) WHERE expires_at IS NOT NULL;
-- A deleted account's messages become tombstones.
CREATE INDEX messages_by_author ON messages (author_id);

CREATE TABLE chat_invites (
    -- SHA-256 of the code: the database never holds a usable code.
    code_hash text PRIMARY KEY,
    chat_id bigint NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    created_by bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- The clean-up job drops expired invites by time.
CREATE INDEX chat_invites_expiry ON chat_invites (expires_at);

CREATE TABLE join_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id bigint NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz
);

-- At most one pending request per person and chat; the owner lists pending ones by chat.
CREATE UNIQUE INDEX join_requests_pending ON join_requests (chat_id, user_id)
    WHERE status = 'pending';
-- Decided requests are pruned by age.
CREATE INDEX join_requests_decided ON join_requests (decided_at) WHERE decided_at IS NOT NULL;

-- "my chats, most recent activity first".
CREATE INDEX chats_by_activity ON chats (last_activity_at DESC);
