-- paycore schema, PostgreSQL flavour: the same tables, columns and
-- constraints as migrations/sqlite, migration for migration. Money is
-- BIGINT minor units everywhere; timestamps are RFC 3339 text, as in SQLite,
-- so both backends hand the code the same values.

CREATE TABLE payments (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    merchant_order_no TEXT NOT NULL,
    -- sha256 of the canonical create request: a replay must match it.
    request_hash      TEXT NOT NULL,
    request           TEXT NOT NULL,
    status            TEXT NOT NULL,
    scene             TEXT NOT NULL,
    wallet            TEXT NOT NULL,
    amount            BIGINT NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL,
    -- Sum of succeeded refunds.
    refunded_amount   BIGINT NOT NULL DEFAULT 0,
    -- Sum of refunds that are not failed (pending, processing, succeeded):
    -- the bound that keeps concurrent refunds from exceeding the amount.
    refund_reserved   BIGINT NOT NULL DEFAULT 0 CHECK (refund_reserved <= amount),
    channel_id        TEXT NOT NULL,
    plugin_name       TEXT NOT NULL,
    plugin_version    TEXT NOT NULL,
    channel_order_no  TEXT,
    action            TEXT,
    failure           TEXT,
    notify_url        TEXT,
    metadata          TEXT NOT NULL DEFAULT '{}',
    -- Set when the host refused a channel's answer: a person should look.
    review_reason     TEXT,
    -- Optimistic concurrency: every state change bumps it.
    version           BIGINT NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    created_ms        BIGINT NOT NULL,
    CONSTRAINT payments_tenant_order_key UNIQUE (tenant_id, merchant_order_no)
);
CREATE INDEX payments_open ON payments (status, created_ms)
    WHERE status IN ('pending', 'processing', 'unknown');
CREATE INDEX payments_channel_order ON payments (tenant_id, channel_id, channel_order_no);

CREATE TABLE idempotency_keys (
    tenant_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    payment_id   TEXT NOT NULL REFERENCES payments (id),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE refunds (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    payment_id         TEXT NOT NULL REFERENCES payments (id),
    merchant_refund_no TEXT NOT NULL,
    request_hash       TEXT NOT NULL,
    amount             BIGINT NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL,
    reason             TEXT,
    status             TEXT NOT NULL,
    channel_refund_no  TEXT,
    failure            TEXT,
    version            BIGINT NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    created_ms         BIGINT NOT NULL,
    CONSTRAINT refunds_tenant_refund_key UNIQUE (tenant_id, merchant_refund_no)
);
CREATE INDEX refunds_payment ON refunds (payment_id);

-- Append-only history of everything that happened to payments and refunds.
CREATE TABLE events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    detail       TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject_id, seq);
CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END
$$;
CREATE TRIGGER events_are_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_are_append_only_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- Every inbound channel callback, accepted or not, for audit. `rowid`
-- mirrors SQLite's implicit one, so "in arrival order" reads the same.
CREATE TABLE callbacks (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    verified    BOOLEAN NOT NULL,
    outcome     TEXT NOT NULL,
    payment_id  TEXT,
    body        BYTEA NOT NULL,
    received_at TEXT NOT NULL,
    rowid       BIGINT GENERATED ALWAYS AS IDENTITY
);

-- Merchant webhooks waiting to be delivered, written in the same
-- transaction as the change they announce.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    delivered_at    TEXT,
    dead            BOOLEAN NOT NULL DEFAULT FALSE,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    rowid           BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX outbox_due ON outbox (next_attempt_ms) WHERE delivered_at IS NULL AND NOT dead;
