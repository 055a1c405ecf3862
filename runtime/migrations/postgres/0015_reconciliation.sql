-- Reconciliation (对账): a channel's statement of one business day matched
-- against paycore's payments and refunds.
--
-- When a payment first succeeded, when it was cancelled, and when a
-- refund succeeded, in paycore's clock: a business day's own records are
-- those that moved money within it (in the channel's time zone). NULL for
-- rows settled before these columns existed: they are still matched when
-- a statement names them.
ALTER TABLE payments ADD COLUMN paid_ms BIGINT;
ALTER TABLE payments ADD COLUMN cancelled_ms BIGINT;
ALTER TABLE refunds ADD COLUMN settled_ms BIGINT;
CREATE INDEX payments_paid ON payments (tenant_id, channel_id, paid_ms)
    WHERE paid_ms IS NOT NULL;
CREATE INDEX payments_cancelled ON payments (tenant_id, channel_id, cancelled_ms)
    WHERE cancelled_ms IS NOT NULL;
CREATE INDEX refunds_settled ON refunds (tenant_id, settled_ms)
    WHERE settled_ms IS NOT NULL;

-- One run per tenant, channel and business day: a re-run replaces its
-- findings in place, so the day has one answer. `claimed_until_ms` keeps
-- two instances from running the same day at once.
CREATE TABLE reconciliations (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    channel_id       TEXT NOT NULL,
    business_day     TEXT NOT NULL,
    time_zone        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    failure          TEXT,
    -- The whole outcome as the API shows it (counts, totals per currency).
    summary          TEXT NOT NULL DEFAULT '{}',
    open_differences BIGINT NOT NULL DEFAULT 0,
    runs             BIGINT NOT NULL DEFAULT 1,
    claimed_until_ms BIGINT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    CONSTRAINT reconciliations_day_key UNIQUE (tenant_id, channel_id, business_day)
);
CREATE INDEX reconciliations_by_day ON reconciliations (tenant_id, business_day);

-- What a run found: each matched line (with the channel's fee) and each
-- difference with both sides as JSON. `item_key` names the line or record
-- (kind and number), so a re-run updates rather than repeats an item and a
-- difference raises its webhook once.
CREATE TABLE reconciliation_items (
    reconciliation_id TEXT NOT NULL,
    tenant_id         TEXT NOT NULL,
    item_key          TEXT NOT NULL,
    verdict           TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('matched', 'open', 'settled')),
    payment_id        TEXT,
    refund_id         TEXT,
    merchant_order_no TEXT NOT NULL,
    refund_no         TEXT,
    currency          TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    fee               BIGINT NOT NULL DEFAULT 0,
    line              TEXT,
    ours              TEXT,
    note              TEXT,
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (reconciliation_id, item_key)
);
CREATE INDEX reconciliation_items_payment ON reconciliation_items (tenant_id, payment_id)
    WHERE payment_id IS NOT NULL;
