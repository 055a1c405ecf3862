//! The ledger's writes: a planned [`Move`] applied in one transaction — its
//! key recorded (idempotency), its hold changed, each posting's effect on
//! the card's balances made by one conditional UPDATE, its postings
//! appended — or nothing at all.

use super::{Dialect, Store, StoreResult, impl_for_connections, on_db};
use crate::domain::{PaymentId, PaymentStatus, RefundId, TenantId};
use paycore_core::ledger::{
    Bucket, CardId, CardStatus, HoldChange, HoldId, HoldStatus, Move, MoveKind,
};
use sqlx::FromRow;

/// Why a move was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveRefusal {
    CardNotFound,
    /// Value leaves a card only while it is active.
    NotActive(CardStatus),
    /// The balance the value would leave holds less.
    Insufficient {
        bucket: Bucket,
        available: i64,
    },
    /// The card would hold more than its programme allows.
    OverCap {
        cap: i64,
        would_hold: i64,
    },
    HoldNotFound,
    /// A capture or release of a hold no longer held, or a refund of one not
    /// captured (or of another card, or for another amount).
    HoldNotOpen(HoldStatus),
    /// A refund above what the hold captured and has not given back yet.
    OverCaptured {
        remaining: i64,
    },
    /// The key was used before for another move.
    KeyReused,
    /// A coupon's hold while another payment holds value on it.
    HeldElsewhere {
        held: i64,
    },
}

/// A card's status changed in the same transaction as its moves: from
/// `from` (any other status than `to` when `None`) to `to`. Already `to`
/// is no change and no refusal, so the whole write can be made again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub from: Option<CardStatus>,
    pub to: CardStatus,
}

/// A move that was applied, now or by an earlier call with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub move_id: String,
    /// False when an earlier call with the same key applied it.
    pub now: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct HoldRecord {
    pub id: HoldId,
    pub tenant_id: TenantId,
    pub card_id: CardId,
    pub payment_id: PaymentId,
    pub unit: String,
    pub amount: i64,
    pub status: HoldStatus,
    pub refunded: i64,
    pub created_at: String,
    pub updated_at: String,
    pub created_ms: i64,
}

/// A hold still `held` although its payment is final or gone.
#[derive(Debug, Clone, FromRow)]
pub struct StrandedHold {
    #[sqlx(flatten)]
    pub hold: HoldRecord,
    /// The payment's status; `None` when no payment has the hold's id.
    pub payment_status: Option<PaymentStatus>,
}

/// The payment statuses `PaymentStatus::is_final` names, as SQL.
macro_rules! final_payments {
    () => {
        "'succeeded', 'failed', 'closed', 'cancelled'"
    };
}

#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct PostingRecord {
    pub seq: i64,
    pub move_id: String,
    pub card_id: CardId,
    pub program_id: String,
    pub unit: String,
    pub from_account: String,
    pub to_account: String,
    pub amount: i64,
    pub kind: MoveKind,
    pub created_at: String,
}

/// The card columns a move reads before it writes.
#[derive(FromRow)]
struct CardHead {
    unit: String,
    program_id: String,
    balance: i64,
    held: i64,
    dormant: i64,
}

impl Store {
    /// Applies `planned` to one of `tenant`'s cards, or refuses it and
    /// writes nothing.
    pub async fn apply_move(
        &self,
        tenant: &TenantId,
        planned: &Move,
    ) -> StoreResult<Result<Applied, MoveRefusal>> {
        if let Some(writer) = &self.writer
            && super::ledger_one_trip::fits(planned)
            && let Some(applied) =
                super::ledger_one_trip::apply(writer, tenant, planned, &self.clock).await?
        {
            return Ok(Ok(applied));
        }
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let outcome = tx.apply(tenant, planned, &self.clock).await?;
            if matches!(outcome, Ok(Applied { now: true, .. })) {
                tx.commit().await?;
            }
            Ok(outcome)
        })
    }

    /// Applies `moves` to one of `tenant`'s cards and changes its status,
    /// all in one transaction, or refuses and writes nothing: a coupon's
    /// capture with the retirement of what it did not take and its closing,
    /// or a refund's credit with what gives the coupon back.
    pub async fn apply_moves(
        &self,
        tenant: &TenantId,
        card: &CardId,
        moves: &[Move],
        status: Option<StatusChange>,
    ) -> StoreResult<Result<Vec<Applied>, MoveRefusal>> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut applied = Vec::with_capacity(moves.len());
            for planned in moves {
                match tx.apply(tenant, planned, &self.clock).await? {
                    Ok(done) => applied.push(done),
                    Err(refusal) => return Ok(Err(refusal)),
                }
            }
            if let Some(change) = status {
                tx.set_status(tenant, card, change, &self.clock).await?;
            }
            tx.commit().await?;
            Ok(Ok(applied))
        })
    }

    /// What an earlier move with `key` was (its fingerprint) and moved in
    /// all; `None` if no move has that key.
    pub async fn recorded_move(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> StoreResult<Option<(String, i64)>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT m.fingerprint, CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM ledger_moves m
                 LEFT JOIN ledger_postings p ON p.move_id = m.id
                 WHERE m.tenant_id = $1 AND m.move_key = $2
                 GROUP BY m.fingerprint",
            )
            .bind(tenant)
            .bind(key)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// A card and the holds a payment has made, oldest first: what a card
    /// payment's plugin reads before it holds. On SQLite both statements go
    /// to the connection's thread in one trip; each row says which it is.
    pub async fn card_and_payment_holds(
        &self,
        tenant: &TenantId,
        card: &CardId,
        payment: &PaymentId,
    ) -> StoreResult<(Option<super::CardRecord>, Vec<HoldRecord>)> {
        let super::Db::Sqlite(pool) = &self.db else {
            let found = self.card(tenant, card).await?;
            return Ok((found, self.holds_for_payment(tenant, payment).await?));
        };
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT 'card' AS row_of, * FROM cards WHERE tenant_id = $1 AND id = $2;
             SELECT 'hold' AS row_of, * FROM ledger_holds WHERE tenant_id = $1 AND payment_id = $3
             ORDER BY created_ms, id",
        )
        .bind(tenant)
        .bind(card)
        .bind(payment)
        .fetch_all(pool)
        .await?;
        let (mut found, mut holds) = (None, Vec::new());
        for row in &rows {
            match row.try_get::<&str, _>("row_of")? {
                "card" => found = Some(super::CardRecord::from_row(row)?),
                _ => holds.push(HoldRecord::from_row(row)?),
            }
        }
        Ok((found, holds))
    }

    /// The holds made for a payment, oldest first.
    pub async fn holds_for_payment(
        &self,
        tenant: &TenantId,
        payment: &PaymentId,
    ) -> StoreResult<Vec<HoldRecord>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT * FROM ledger_holds WHERE tenant_id = $1 AND payment_id = $2 ORDER BY created_ms, id",
            )
            .bind(tenant)
            .bind(payment)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Holds still `held` whose payment is final (or gone), oldest first:
    /// what a crash between a payment's end and its hold's capture or
    /// release left. A paid payment whose cancel's outcome is unknown is
    /// left out: its cancel, resumed by the sweeper, releases or credits
    /// its holds itself.
    pub async fn held_holds_of_final_payments(&self, limit: i64) -> StoreResult<Vec<StrandedHold>> {
        let sql = concat!(
            "SELECT h.*, p.status AS payment_status FROM ledger_holds h
             LEFT JOIN payments p ON p.id = h.payment_id AND p.tenant_id = h.tenant_id
             WHERE h.status = 'held'
               AND (p.id IS NULL
                    OR (p.status IN (",
            final_payments!(),
            ") AND NOT (p.status = 'succeeded' AND p.cancel_in_progress = 1)))
             ORDER BY h.created_ms LIMIT $1"
        );
        on_db!(self, |pool| {
            Ok(sqlx::query_as(sql).bind(limit).fetch_all(pool).await?)
        })
    }

    /// What a refund has given back, per unit.
    pub async fn credits_of_refund(
        &self,
        tenant: &TenantId,
        refund: &RefundId,
    ) -> StoreResult<Vec<(String, i64)>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT p.unit, CAST(SUM(p.amount) AS BIGINT) FROM ledger_moves m
                 JOIN ledger_postings p ON p.move_id = m.id
                 WHERE m.tenant_id = $1 AND m.refund_id = $2
                 GROUP BY p.unit",
            )
            .bind(tenant)
            .bind(refund)
            .fetch_all(pool)
            .await?)
        })
    }

    /// A card's postings in order, `limit` after `after_seq`.
    pub async fn card_postings(
        &self,
        tenant: &TenantId,
        card: &CardId,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<PostingRecord>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT seq, move_id, card_id, program_id, unit, from_account, to_account, amount, kind, created_at
                 FROM ledger_postings WHERE tenant_id = $1 AND card_id = $2 AND seq > $3
                 ORDER BY seq LIMIT $4",
            )
            .bind(tenant)
            .bind(card)
            .bind(after_seq)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }
}

/// The statements of one move, written once for both backends'
/// connections. On a refusal the caller drops the transaction, which rolls
/// back whatever the move had written.
pub(super) trait LedgerConn {
    async fn apply(
        &mut self,
        tenant: &TenantId,
        planned: &Move,
        clock: &crate::clock::Clock,
    ) -> StoreResult<Result<Applied, MoveRefusal>>;

    /// One conditional UPDATE of the card's status; true if it changed.
    async fn set_status(
        &mut self,
        tenant: &TenantId,
        card: &CardId,
        change: StatusChange,
        clock: &crate::clock::Clock,
    ) -> StoreResult<bool>;
}

impl_for_connections!(
    impl LedgerConn {
        async fn set_status(
            &mut self,
            tenant: &TenantId,
            card: &CardId,
            change: StatusChange,
            clock: &crate::clock::Clock,
        ) -> StoreResult<bool> {
            let sql = format!(
                "UPDATE cards SET status = $1, version = version + 1, updated_at = $2
                 WHERE tenant_id = $3 AND id = $4 AND status <> $1{from}",
                from = if change.from.is_some() { " AND status = $5" } else { "" },
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(change.to)
                .bind(clock.now_rfc3339())
                .bind(tenant)
                .bind(card);
            if let Some(from) = change.from {
                query = query.bind(from);
            }
            let changed = query.execute(&mut *self).await?;
            Ok(changed.rows_affected() == 1)
        }

        async fn apply(
            &mut self,
            tenant: &TenantId,
            planned: &Move,
            clock: &crate::clock::Clock,
        ) -> StoreResult<Result<Applied, MoveRefusal>> {
            let now = clock.now_rfc3339();
            // One instant for the move and its postings: the report bounds
            // periods on the postings' `created_ms`.
            let now_ms = clock.now_millis();
            let card: Option<CardHead> = sqlx::query_as(
                "SELECT unit, program_id, balance, held, dormant FROM cards WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant)
            .bind(&planned.card)
            .fetch_optional(&mut *self)
            .await?;
            let Some(card) = card else {
                return Ok(Err(MoveRefusal::CardNotFound));
            };

            let move_id = crate::domain::new_id("mv");
            let fingerprint = planned.fingerprint();
            let (hold_id, payment_id, refund_id) = match &planned.hold {
                Some((hold, HoldChange::Open { payment, .. })) => (Some(hold), Some(payment), None),
                Some((hold, HoldChange::Refund { refund, .. })) => (Some(hold), None, Some(refund)),
                Some((hold, _)) => (Some(hold), None, None),
                None => (None, None, None),
            };
            let inserted = sqlx::query(
                "INSERT INTO ledger_moves (id, tenant_id, move_key, fingerprint, kind, card_id, payment_id, refund_id, hold_id, created_at, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (tenant_id, move_key) DO NOTHING",
            )
            .bind(&move_id)
            .bind(tenant)
            .bind(&planned.key)
            .bind(&fingerprint)
            .bind(planned.kind)
            .bind(&planned.card)
            .bind(payment_id)
            .bind(refund_id)
            .bind(hold_id)
            .bind(&now)
            .bind(now_ms)
            .execute(&mut *self)
            .await?;
            if inserted.rows_affected() == 0 {
                let (earlier_id, earlier_fingerprint): (String, String) = sqlx::query_as(
                    "SELECT id, fingerprint FROM ledger_moves WHERE tenant_id = $1 AND move_key = $2",
                )
                .bind(tenant)
                .bind(&planned.key)
                .fetch_one(&mut *self)
                .await?;
                return Ok(if earlier_fingerprint == fingerprint {
                    Ok(Applied {
                        move_id: earlier_id,
                        now: false,
                    })
                } else {
                    Err(MoveRefusal::KeyReused)
                });
            }

            if let Some((hold, change)) = &planned.hold {
                let changed = match change {
                    HoldChange::Open { payment, amount } => sqlx::query(
                        "INSERT INTO ledger_holds (id, tenant_id, card_id, payment_id, unit, amount, status, created_at, updated_at, created_ms)
                         VALUES ($1, $2, $3, $4, $5, $6, 'held', $7, $7, $8)",
                    )
                    .bind(hold)
                    .bind(tenant)
                    .bind(&planned.card)
                    .bind(payment)
                    .bind(&card.unit)
                    .bind(amount)
                    .bind(&now)
                    .bind(now_ms)
                    .execute(&mut *self)
                    .await?,
                    HoldChange::Capture | HoldChange::Release => {
                        let to = if *change == HoldChange::Capture {
                            HoldStatus::Captured
                        } else {
                            HoldStatus::Released
                        };
                        let amount: i64 = planned.postings.iter().map(|p| p.amount).sum();
                        sqlx::query(
                            "UPDATE ledger_holds SET status = $1, version = version + 1, updated_at = $2
                             WHERE tenant_id = $3 AND id = $4 AND card_id = $5 AND status = 'held' AND amount = $6",
                        )
                        .bind(to)
                        .bind(&now)
                        .bind(tenant)
                        .bind(hold)
                        .bind(&planned.card)
                        .bind(amount)
                        .execute(&mut *self)
                        .await?
                    }
                    HoldChange::Refund { amount, .. } => sqlx::query(
                        "UPDATE ledger_holds SET refunded = refunded + $1, version = version + 1, updated_at = $2
                         WHERE tenant_id = $3 AND id = $4 AND card_id = $5 AND status = 'captured'
                           AND refunded + $1 <= amount",
                    )
                    .bind(amount)
                    .bind(&now)
                    .bind(tenant)
                    .bind(hold)
                    .bind(&planned.card)
                    .execute(&mut *self)
                    .await?,
                };
                if changed.rows_affected() == 0 {
                    let found: Option<(HoldStatus, i64, i64, CardId)> = sqlx::query_as(
                        "SELECT status, amount, refunded, card_id FROM ledger_holds WHERE tenant_id = $1 AND id = $2",
                    )
                    .bind(tenant)
                    .bind(hold)
                    .fetch_optional(&mut *self)
                    .await?;
                    return Ok(Err(match found {
                        None => MoveRefusal::HoldNotFound,
                        Some((HoldStatus::Captured, amount, refunded, card_id))
                            if matches!(change, HoldChange::Refund { .. }) && card_id == planned.card =>
                        {
                            MoveRefusal::OverCaptured {
                                remaining: amount - refunded,
                            }
                        }
                        Some((status, ..)) => MoveRefusal::HoldNotOpen(status),
                    }));
                }
            }

            let mut total = card.balance + card.held + card.dormant;
            for posting in &planned.postings {
                if let Some(bucket) = posting.from.bucket() {
                    let gate_active = planned.requires_active && bucket == Bucket::Available;
                    let gate_sole = planned.sole_hold && bucket == Bucket::Available;
                    let sql = format!(
                        "UPDATE cards SET {col} = {col} - $1, version = version + 1, updated_at = $2
                         WHERE tenant_id = $3 AND id = $4 AND {col} >= $1{active}{sole}",
                        col = bucket.column(),
                        active = if gate_active { " AND status = 'active'" } else { "" },
                        sole = if gate_sole { " AND held = 0" } else { "" },
                    );
                    let taken = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(posting.amount)
                        .bind(&now)
                        .bind(tenant)
                        .bind(&planned.card)
                        .execute(&mut *self)
                        .await?;
                    if taken.rows_affected() == 0 {
                        let (status, balance, held, dormant): (CardStatus, i64, i64, i64) = sqlx::query_as(
                            "SELECT status, balance, held, dormant FROM cards WHERE tenant_id = $1 AND id = $2",
                        )
                        .bind(tenant)
                        .bind(&planned.card)
                        .fetch_one(&mut *self)
                        .await?;
                        let available = match bucket {
                            Bucket::Available => balance,
                            Bucket::Held => held,
                            Bucket::Dormant => dormant,
                        };
                        return Ok(Err(if gate_active && status != CardStatus::Active {
                            MoveRefusal::NotActive(status)
                        } else if gate_sole && held > 0 {
                            MoveRefusal::HeldElsewhere { held }
                        } else {
                            MoveRefusal::Insufficient { bucket, available }
                        }));
                    }
                } else {
                    total += posting.amount;
                }
                if let Some(bucket) = posting.to.bucket() {
                    let capped = planned.cap.filter(|_| posting.from.bucket().is_none());
                    // Value bought or given to a card (a top-up) needs it
                    // active too; value coming back (a release, a refund) does not.
                    let gate_active = planned.requires_active && posting.from.bucket().is_none();
                    let sql = format!(
                        "UPDATE cards SET {col} = {col} + $1, version = version + 1, updated_at = $2
                         WHERE tenant_id = $3 AND id = $4{cap}{active}",
                        col = bucket.column(),
                        cap = if capped.is_some() { " AND balance + held + dormant + $1 <= $5" } else { "" },
                        active = if gate_active { " AND status = 'active'" } else { "" },
                    );
                    let given = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(posting.amount)
                        .bind(&now)
                        .bind(tenant)
                        .bind(&planned.card)
                        .bind(capped.unwrap_or(0))
                        .execute(&mut *self)
                        .await?;
                    if given.rows_affected() == 0 {
                        let status: CardStatus = sqlx::query_scalar(
                            "SELECT status FROM cards WHERE tenant_id = $1 AND id = $2",
                        )
                        .bind(tenant)
                        .bind(&planned.card)
                        .fetch_one(&mut *self)
                        .await?;
                        return Ok(Err(if gate_active && status != CardStatus::Active {
                            MoveRefusal::NotActive(status)
                        } else {
                            MoveRefusal::OverCap {
                                cap: capped.unwrap_or(0),
                                would_hold: total,
                            }
                        }));
                    }
                } else {
                    total -= posting.amount;
                }
                let from = posting.from.name(&planned.card);
                let to = posting.to.name(&planned.card);
                sqlx::query(
                    "INSERT INTO ledger_postings (move_id, tenant_id, card_id, program_id, unit, from_account, to_account, amount, kind, created_at, created_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&move_id)
                .bind(tenant)
                .bind(&planned.card)
                .bind(&card.program_id)
                .bind(&card.unit)
                .bind(&from)
                .bind(&to)
                .bind(posting.amount)
                .bind(posting.kind)
                .bind(&now)
                .bind(now_ms)
                .execute(&mut *self)
                .await?;
            }
            if let Some(until) = planned.valid_until {
                sqlx::query(
                    "UPDATE cards SET expires_ms = $1 WHERE tenant_id = $2 AND id = $3 AND expires_ms < $1",
                )
                .bind(until)
                .bind(tenant)
                .bind(&planned.card)
                .execute(&mut *self)
                .await?;
            }
            Ok(Ok(Applied { move_id, now: true }))
        }
    }
);

#[cfg(test)]
mod tests {
    use crate::domain::PaymentStatus;

    /// A hold is stranded only behind a payment the domain calls final, so
    /// a new status cannot be taken for final by accident.
    #[test]
    fn stranded_holds_are_those_of_final_payments() {
        for s in PaymentStatus::ALL {
            let named = final_payments!().contains(&format!("'{s}'"));
            assert_eq!(named, s.is_final(), "{s}");
        }
    }
}
