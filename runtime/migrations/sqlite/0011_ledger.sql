-- Closed-loop value the host keeps (runtime/src/ledger): member cards, gift
-- cards, vouchers, punch cards and coupons, on a double-entry ledger.
--
-- Every movement is a posting that takes `amount` of one `unit` out of one
-- account (`from_account`, debited) and into another (`to_account`,
-- credited), so per tenant and unit the postings sum to zero by
-- construction. Each posting moves value in or out of exactly one card:
-- its available balance (`card:<id>`), what is held on it for a payment
-- (`card:<id>:held`) or what expired and can be reactivated
-- (`card:<id>:dormant`). The other side is the card itself or one of the
-- tenant's accounts per unit, whose balance is the sum of their postings:
-- `sales` (value sold for money), `promotion` (value given away: bonuses,
-- coupons), `redemption` (value spent on purchases), `breakage` (value
-- forfeited where the programme allows it).
--
-- A card's three balances are stored on its row and can never go below
-- zero: each posting changes them with one conditional UPDATE, and the
-- CHECKs below hold even if a statement were wrong.
CREATE TABLE cards (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    program_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    unit         TEXT NOT NULL,
    holder       TEXT,
    named        BOOLEAN NOT NULL,
    status       TEXT NOT NULL,
    balance      BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    held         BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    dormant      BIGINT NOT NULL DEFAULT 0 CHECK (dormant >= 0),
    -- The end of the value's validity (NULL: none; named cards in CN).
    expires_ms   BIGINT,
    -- The issuing request's idempotency key and fingerprint.
    issue_key    TEXT NOT NULL,
    issue_hash   TEXT NOT NULL,
    version      BIGINT NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (tenant_id, issue_key)
);
CREATE INDEX cards_by_holder ON cards (tenant_id, holder, created_at);
CREATE INDEX cards_expiring ON cards (expires_ms) WHERE expires_ms IS NOT NULL AND status IN ('active', 'frozen');

-- One ledger operation (an issue, a top-up with its bonus, a hold, …):
-- its postings commit together or not at all, and its key makes it
-- idempotent: the same key again is the same operation, never a second one.
CREATE TABLE ledger_moves (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    move_key     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    card_id      TEXT NOT NULL,
    payment_id   TEXT,
    refund_id    TEXT,
    hold_id      TEXT,
    created_at   TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    UNIQUE (tenant_id, move_key)
);
CREATE INDEX ledger_moves_by_refund ON ledger_moves (tenant_id, refund_id) WHERE refund_id IS NOT NULL;

CREATE TABLE ledger_postings (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    move_id      TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    card_id      TEXT NOT NULL,
    program_id   TEXT NOT NULL,
    unit         TEXT NOT NULL,
    from_account TEXT NOT NULL,
    to_account   TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount > 0),
    kind         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    CHECK (from_account <> to_account)
);
CREATE INDEX ledger_postings_by_card ON ledger_postings (tenant_id, card_id, seq);
CREATE INDEX ledger_postings_by_move ON ledger_postings (move_id);

CREATE TRIGGER ledger_moves_are_append_only_update BEFORE UPDATE ON ledger_moves
BEGIN SELECT RAISE(ABORT, 'ledger moves are append-only'); END;
CREATE TRIGGER ledger_moves_are_append_only_delete BEFORE DELETE ON ledger_moves
BEGIN SELECT RAISE(ABORT, 'ledger moves are append-only'); END;
CREATE TRIGGER ledger_postings_are_append_only_update BEFORE UPDATE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger postings are append-only'); END;
CREATE TRIGGER ledger_postings_are_append_only_delete BEFORE DELETE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger postings are append-only'); END;

-- Value reserved on a card for one payment: held → captured or released.
-- `refunded` is what has gone back to the card of what was captured.
CREATE TABLE ledger_holds (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    card_id      TEXT NOT NULL,
    payment_id   TEXT NOT NULL,
    unit         TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount > 0),
    status       TEXT NOT NULL,
    refunded     BIGINT NOT NULL DEFAULT 0,
    version      BIGINT NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    UNIQUE (tenant_id, payment_id, card_id),
    CHECK (refunded >= 0 AND refunded <= amount)
);
CREATE INDEX ledger_holds_open ON ledger_holds (created_ms) WHERE status = 'held';

-- A card's dynamic payment codes. Only the code's SHA-256 is kept, so a
-- copy of the database cannot pay. A code is bound to the first payment
-- that presents it: the same payment again finds it, another is refused.
CREATE TABLE card_payment_codes (
    code_hash    TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    card_id      TEXT NOT NULL,
    expires_ms   BIGINT NOT NULL,
    payment_id   TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX card_payment_codes_by_card ON card_payment_codes (card_id, expires_ms);
