-- The general chat's send budget, per user and period, kept beside the messages: it counts
-- what each period delivers (scheduled messages reserve their place in the period of their
-- sendAt) and outlives a restart of Redis.
CREATE TABLE send_budget (
    user_id bigint NOT NULL,
    -- floor(epoch seconds / CHAT_SEND_PERIOD): every replica agrees on the periods.
    period bigint NOT NULL,
    used integer NOT NULL,
    PRIMARY KEY (user_id, period)
);

-- Past periods are removed by age.
CREATE INDEX send_budget_by_period ON send_budget (period);

-- The period a scheduled message of the general chat holds a place in (NULL elsewhere, and
-- for messages scheduled before the budget was kept here): a cancel gives that one back.
ALTER TABLE messages ADD COLUMN budget_period bigint;
