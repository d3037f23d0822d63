-- The chats and their members; messages and the rest arrive with the chat features.
CREATE TABLE chats (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('general', 'direct', 'group')),
    title text,
    owner_id bigint,
    private boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- There is exactly one general chat.
CREATE UNIQUE INDEX chats_one_general ON chats (kind) WHERE kind = 'general';

CREATE TABLE chat_members (
    chat_id bigint NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id bigint NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, user_id)
);

-- "my chats" lists by member.
CREATE INDEX chat_members_by_user ON chat_members (user_id);
