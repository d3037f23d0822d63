-- Notifications in one round trip: chat's consumer group "notifications" stores what one event
-- makes with a single call of store_notifications, run outside any explicit transaction, so
-- that the event's handled id, the fold under its lock, each notification and its live event
-- commit together in the statement's own transaction (they took six round trips before:
-- BEGIN, the handled id, the lock, the insert, the live event, COMMIT). New functions only:
-- the release of 2026-12-06 (which has no notifications) runs on the schema unchanged, and so
-- does this release's code before them (same tables, same fold lock).

-- A notification as API.md shows it, for its live event. The list composes the same in
-- Python (chat_service/notifications.py, `notification`); tests/notifications compare the two
-- for every type.
CREATE FUNCTION notification_json(n notifications) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', n.id,
        'type', n.type,
        'actor', (SELECT json_build_object('username', a.username, 'image', a.image)
                  FROM users a WHERE a.id = n.actor_id AND NOT a.deleted),
        'article', CASE WHEN n.article_slug IS NOT NULL
                        THEN json_build_object('slug', n.article_slug, 'title', n.article_title)
                   END,
        'comment', CASE WHEN n.comment_id IS NOT NULL
                        THEN json_build_object('id', n.comment_id, 'body', n.comment_body)
                   END,
        'chat', CASE WHEN n.chat_id IS NOT NULL THEN json_build_object(
                    'id', n.chat_id,
                    'title', (SELECT CASE c.kind WHEN 'general' THEN 'General'
                                  WHEN 'direct' THEN (
                                      SELECT u.username FROM chat_members m
                                      JOIN users u ON u.id = m.user_id
                                      WHERE m.chat_id = c.id AND m.user_id <> n.recipient_id
                                      LIMIT 1)
                                  ELSE c.title END
                              FROM chats c WHERE c.id = n.chat_id))
                END,
        'message', CASE WHEN n.message_id IS NOT NULL
                        THEN json_build_object('id', n.message_id, 'seq', n.message_seq)
                   END,
        'reason', n.reason,
        -- As shared/web/timefmt.py writes times: UTC, milliseconds (cut, not rounded), `Z`.
        'createdAt', to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'read', n.read_at IS NOT NULL)
$$;

-- Stores an event's notifications, once: `items` is a JSON array of notifications, each with
-- its recipient_id, type and the columns of `notifications` it sets (fold_key among them; the
-- actor and the time are the event's). Answers one row per notification stored: its live
-- event's id in live_events (scope `live_scope`, payload `live_prefix` then the event's text),
-- its recipient and the text (`notification.created`). Nothing when the event was handled
-- before or everything folded. When the actor is not in chat's copy of users (and
-- `actor_checked` is false) it does nothing and answers one row of nulls: the caller asks auth
-- for the account and calls again with `actor_checked`.
CREATE FUNCTION store_notifications(
    event_id uuid,
    event_type text,
    actor_id bigint,
    actor_checked boolean,
    items jsonb,
    occurred_at timestamptz,
    fold_seconds integer,
    live_scope text,
    live_prefix text
) RETURNS TABLE (live_event_id bigint, recipient bigint, event_text text)
LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
    stored notifications;
BEGIN
    IF store_notifications.actor_id IS NOT NULL AND NOT actor_checked AND NOT EXISTS (
        SELECT FROM users u WHERE u.id = store_notifications.actor_id AND NOT u.deleted
    ) THEN
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO notification_events AS e (event_id, type)
    VALUES (store_notifications.event_id, event_type) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN;  -- handled before: at-least-once delivery gives each notification once
    END IF;
    FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
        IF item->>'fold_key' IS NOT NULL THEN
            -- Two replicas handling two likes of one person at once store one: the second
            -- waits here, and its statement below sees the first one's row.
            PERFORM pg_advisory_xact_lock(hashtextextended(
                'notifications:' || (item->>'recipient_id') || ':' || (item->>'fold_key'), 0));
        END IF;
        INSERT INTO notifications AS n (recipient_id, type, actor_id, article_id, article_slug,
            article_title, comment_id, comment_body, chat_id, message_id, message_seq, reason,
            fold_key, created_at)
        SELECT f.recipient_id, f.type, store_notifications.actor_id, f.article_id,
               f.article_slug, f.article_title, f.comment_id, f.comment_body, f.chat_id,
               f.message_id, f.message_seq, f.reason, f.fold_key,
               store_notifications.occurred_at
        FROM jsonb_populate_record(NULL::notifications, item) f
        WHERE (f.chat_id IS NULL OR EXISTS (SELECT FROM chats c WHERE c.id = f.chat_id))
          AND (f.fold_key IS NULL OR NOT EXISTS (
              SELECT FROM notifications o
              WHERE o.recipient_id = f.recipient_id AND o.fold_key = f.fold_key
                AND o.created_at > store_notifications.occurred_at
                    - make_interval(secs => fold_seconds)))
        RETURNING n.* INTO stored;
        IF NOT FOUND THEN
            CONTINUE;  -- folded into a recent one, or its chat is gone
        END IF;
        recipient := stored.recipient_id;
        event_text := json_build_object(
            'type', 'notification.created', 'data', notification_json(stored))::text;
        -- Stamped at the statement, the last of the transaction but for the others of this
        -- loop (chat_service/queries/live_events.py, `record_now`).
        INSERT INTO live_events AS l (scope, target, payload, created_at)
        VALUES (live_scope, recipient, live_prefix || event_text, clock_timestamp())
        RETURNING l.id INTO live_event_id;
        RETURN NEXT;
    END LOOP;
END
$$;
