-- A payment is either reversed (cancelled) or refunded, never both.
--
-- `cancel_in_progress` (0 or 1) is set before a cancel is sent to the
-- channel, by one conditional UPDATE that requires `refund_reserved = 0`;
-- a refund reserves its amount only while it is 0 (the same statement that
-- bounds refunds). It is cleared only when the channel certainly did not
-- reverse the payment. While it stays set with the payment still paid (the
-- cancel's outcome is not known), the sweeper asks again.
ALTER TABLE payments ADD COLUMN cancel_in_progress INTEGER NOT NULL DEFAULT 0
    CHECK (cancel_in_progress IN (0, 1));
-- When a cancel was first sent to the channel; never cleared. For a barcode
-- or face payment it ends the payer's window: after it, a channel that has
-- no such order proves that no money moved.
ALTER TABLE payments ADD COLUMN cancel_started_ms INTEGER;
-- The sweeper's second work list: paid payments whose cancel is unsettled.
CREATE INDEX payments_cancelling ON payments (next_check_ms)
    WHERE status = 'succeeded' AND cancel_in_progress = 1;
