-- Asynchronous results: the sweeper's per-row back-off and the webhook
-- outbox's delivery state.

-- When the sweeper asks the channel next about an open payment or refund
-- (NULL: `min_age` after creation), and how often it asked already (the
-- step in the back-off schedule).
ALTER TABLE payments ADD COLUMN next_check_ms BIGINT;
ALTER TABLE payments ADD COLUMN checks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN next_check_ms BIGINT;
ALTER TABLE refunds ADD COLUMN checks BIGINT NOT NULL DEFAULT 0;

-- The payment an event is about (its own, or its refund's), so a tenant can
-- list a payment's events; the step in the retry schedule, which a manual
-- redelivery resets while `attempts` keeps counting; the last attempt.
ALTER TABLE outbox ADD COLUMN payment_id TEXT;
ALTER TABLE outbox ADD COLUMN retry_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_attempt_at TEXT;
UPDATE outbox SET
    payment_id = CASE WHEN event_type LIKE 'refund.%'
        THEN payload::json -> 'data' ->> 'payment_id'
        ELSE payload::json -> 'data' ->> 'id' END,
    retry_step = attempts;
CREATE INDEX outbox_payment ON outbox (tenant_id, payment_id);
