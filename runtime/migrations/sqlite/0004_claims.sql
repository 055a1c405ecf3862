-- The instance holding an outbox row's delivery right now (NULL: none).
-- The claim itself is a lease on `next_attempt_ms`, moved ahead while the
-- delivery is in flight; this names its holder, for operators reading the
-- outbox: a name that stays after its instance died marks a claim another
-- instance will take over once the lease runs out.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
