-- A combined order (组合支付): one payment row is the order, at its full
-- amount; its external tender is the row's channel, asked for
-- `channel_amount` (the rest is paid by coupons and cards; 0 when there
-- is no external tender and no channel is asked at all), and every
-- tender is a row here. A coupon's or card's value is a hold of the order
-- in the ledger, captured or released by the host once the order is final,
-- so a tender's state is read from its hold; `status` records only what no
-- hold can say: a tender refused before the order's value moved
-- (`refused`), and an external tender never sent because of it (`skipped`).
ALTER TABLE payments ADD COLUMN channel_amount BIGINT CHECK (channel_amount >= 0);

CREATE TABLE payment_tenders (
    tenant_id   TEXT NOT NULL,
    payment_id  TEXT NOT NULL,
    position    BIGINT NOT NULL CHECK (position >= 0),
    kind        TEXT NOT NULL CHECK (kind IN ('coupon', 'card', 'external')),
    amount      BIGINT NOT NULL CHECK (amount > 0),
    channel_id  TEXT NOT NULL,
    -- The card or coupon, once known: a payment code names its card only
    -- when the tender is held.
    card_id     TEXT,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'refused', 'skipped')),
    PRIMARY KEY (payment_id, position)
);

-- A combined order's refund: its channel (the external tender's) is asked
-- for `channel_amount` (0: no channel is asked); each tender's part is a
-- row here, allocated in the refund's own transaction (under the payment's
-- reservation, so racing refunds allocate one after the other). A coupon's
-- or card's part is credited back by the host once the refund succeeded;
-- `credited` says it was, so the sweeper finishes what a crash left.
ALTER TABLE refunds ADD COLUMN channel_amount BIGINT CHECK (channel_amount >= 0);

CREATE TABLE refund_tenders (
    tenant_id  TEXT NOT NULL,
    refund_id  TEXT NOT NULL,
    position   BIGINT NOT NULL CHECK (position >= 0),
    kind       TEXT NOT NULL CHECK (kind IN ('coupon', 'card', 'external')),
    amount     BIGINT NOT NULL CHECK (amount > 0),
    credited   BIGINT NOT NULL DEFAULT 0 CHECK (credited IN (0, 1)),
    PRIMARY KEY (refund_id, position)
);
CREATE INDEX refund_tenders_to_credit ON refund_tenders (tenant_id, refund_id)
    WHERE credited = 0 AND kind <> 'external';
