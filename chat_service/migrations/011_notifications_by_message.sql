-- A chat message's mentions go with the message (deleted or expired): found by its id. An
-- index only: the release before this one runs on the schema unchanged.
CREATE INDEX notifications_mentions_by_message ON notifications (message_id)
    WHERE type = 'mentioned';
