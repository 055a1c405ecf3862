-- The hosted cashier (docs/checkout.md).
--
-- A checkout payment (scene `checkout`) waits for the payer to choose a
-- wallet on paycore's page before any channel is asked: until then its
-- `wallet`, `channel_id`, `plugin_name` and `plugin_version` are empty
-- strings (the columns stay NOT NULL so every other payment keeps its
-- guarantee), and it moves to `unknown` on a channel when the payer chooses.

-- The page's address, shown to the merchant as the payment's `action`.
ALTER TABLE payments ADD COLUMN checkout_url TEXT;

-- One unguessable link per checkout payment, written in the payment's own
-- insert transaction. It stops working when the payment expires.
CREATE TABLE checkout_links (
    token       TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    payment_id  TEXT NOT NULL UNIQUE REFERENCES payments (id),
    return_url  TEXT,
    expires_ms  INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

-- Static codes for a store or a terminal ("one code for every wallet").
CREATE TABLE qr_codes (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    token       TEXT NOT NULL UNIQUE,
    store_id    TEXT NOT NULL,
    terminal_id TEXT,
    -- Fixed amount in minor units, or NULL when the payer enters it.
    amount      INTEGER CHECK (amount IS NULL OR amount > 0),
    currency    TEXT NOT NULL,
    subject     TEXT,
    created_at  TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    -- Set when the tenant retires the code (a lost or replaced sticker):
    -- its page is then a 404 and it makes no payment.
    disabled_at TEXT
);
CREATE INDEX qr_codes_tenant ON qr_codes (tenant_id, created_ms);
