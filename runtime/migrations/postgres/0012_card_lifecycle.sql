-- What happens to card value over time (runtime/src/ledger/expiry.rs,
-- reactivation.rs, report.rs): the sweeper moves a card's value to dormant
-- when its validity ends, forfeits it to breakage where the programme
-- allows, and the finance report sums postings over a period.

-- When a posting was made, in unix milliseconds of business time, so the
-- report can bound a period with an index. Nullable: postings written
-- before this migration (only in development databases, the ledger being
-- new in this release) keep NULL and count in no period; the append-only
-- triggers forbid filling them in, and the liability the report shows
-- comes from the cards themselves, so it includes them.
ALTER TABLE ledger_postings ADD COLUMN created_ms BIGINT;
CREATE INDEX ledger_postings_by_time ON ledger_postings (tenant_id, created_ms);

-- Cards past their validity with work left for the sweeper: value that came
-- back to a dormant or closed card's available balance (a hold released, a
-- refund) after it expired, or a dormant card with nothing left on it at
-- all, which closes. `cards_expiring` (0011) finds the cards whose validity
-- ends. The predicate is `store::card_lifecycle`'s, word for word, so both
-- backends use the index.
CREATE INDEX cards_settling_after_expiry ON cards (id)
    WHERE status IN ('dormant', 'closed') AND (balance > 0 OR (status = 'dormant' AND held = 0 AND dormant = 0));
