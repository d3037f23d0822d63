-- Notifications: what someone did to a user's work or with them (a follow, a like, a comment,
-- a mention, an invitation, a decided join request, a moderator's action). Built by chat's
-- consumer group "notifications" from the events the services publish (each event once:
-- notification_events), kept here because chat holds the sockets they are delivered on. New
-- tables only: the release before this one runs on the schema unchanged.
CREATE TABLE notifications (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_id bigint NOT NULL,
    type text NOT NULL CONSTRAINT notifications_type_known CHECK (type IN (
        'followed', 'favorited', 'commented', 'mentioned', 'chat.invited',
        'chat.join_decided', 'moderation')),
    -- Who acted; null for a moderator's action (moderators act for the site, not by name).
    actor_id bigint,
    -- The recipe: its id (which renames and deletions follow), its slug and title as last told.
    article_id bigint,
    article_slug text,
    article_title text,
    comment_id bigint,
    comment_body text,
    -- A chat's notifications go with the chat.
    chat_id bigint REFERENCES chats (id) ON DELETE CASCADE,
    message_id bigint,
    message_seq bigint,
    -- A join decision's outcome ('approved', 'rejected') or a moderator's reason.
    reason text,
    -- Repeats fold: the same actor's same action on the same thing within an hour is one
    -- notification. Null for what never folds.
    fold_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz
);

-- A user's list, newest first, paged by id.
CREATE INDEX notifications_by_recipient ON notifications (recipient_id, id DESC);
-- The unread count and "read up to".
CREATE INDEX notifications_unread ON notifications (recipient_id, id) WHERE read_at IS NULL;
-- Folding looks for the same key within the hour.
CREATE INDEX notifications_fold ON notifications (recipient_id, fold_key, created_at)
    WHERE fold_key IS NOT NULL;
-- Deletions that take notifications with them: an account (as actor), a recipe, a comment.
CREATE INDEX notifications_by_actor ON notifications (actor_id) WHERE actor_id IS NOT NULL;
CREATE INDEX notifications_by_article ON notifications (article_id) WHERE article_id IS NOT NULL;
CREATE INDEX notifications_by_comment ON notifications (comment_id) WHERE comment_id IS NOT NULL;
CREATE INDEX notifications_by_chat ON notifications (chat_id) WHERE chat_id IS NOT NULL;
-- Pruning by age (NOTIFICATIONS_TTL).
CREATE INDEX notifications_age ON notifications (created_at);

-- The events the group "notifications" has handled, each once however often it arrives (the
-- group "chat" keeps its own in processed_events: the two handle the same events apart).
CREATE TABLE notification_events (
    event_id uuid PRIMARY KEY,
    type text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
