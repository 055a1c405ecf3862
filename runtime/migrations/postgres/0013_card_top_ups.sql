-- A member card's top-up: value bought for the card by a payment through
-- any channel, credited (with the programme's bonus, fixed when the top-up
-- was asked for) only once that payment succeeded. Keyed by the payment's
-- order number, written before the payment exists, so a crash between the
-- two leaves a top-up the sweeper links to its payment or lets lapse.
CREATE TABLE card_top_ups (
    tenant_id          TEXT NOT NULL,
    merchant_order_no  TEXT NOT NULL,
    card_id            TEXT NOT NULL,
    amount             BIGINT NOT NULL CHECK (amount > 0),
    bonus              BIGINT NOT NULL CHECK (bonus >= 0),
    currency           TEXT NOT NULL,
    -- pending → credited (the payment succeeded), failed (it did not) or
    -- refused (it succeeded, but the card's cap could not take it: the
    -- payment is refunded in full).
    status             TEXT NOT NULL,
    payment_id         TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    created_ms         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, merchant_order_no)
);
CREATE INDEX card_top_ups_open ON card_top_ups (created_ms) WHERE status = 'pending';
