//! Payment rows.

use super::outbox::OutboxRows;
use super::{
    Dialect, Dialects, Event, EventRows, Store, StoreError, StoreResult, impl_for_connections,
    on_db, unique_violation,
};
use crate::domain::{PaymentStatus, now_millis, now_rfc3339};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct PaymentRecord {
    pub id: String,
    pub tenant_id: String,
    pub merchant_order_no: String,
    pub request_hash: String,
    pub request: String,
    pub status: String,
    pub scene: String,
    pub wallet: String,
    pub amount: i64,
    pub currency: String,
    pub refunded_amount: i64,
    pub refund_reserved: i64,
    pub channel_id: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub channel_order_no: Option<String>,
    pub action: Option<String>,
    pub failure: Option<String>,
    pub notify_url: Option<String>,
    pub metadata: String,
    pub review_reason: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub created_ms: i64,
    /// JSON array of the channels tried, oldest first.
    pub attempts: String,
    /// Scene `checkout`: paycore's page for the payer.
    pub checkout_url: Option<String>,
    /// 1 while a cancel (reversal) is under way or its outcome is unknown:
    /// no refund may be reserved then (see `start_cancel`).
    pub cancel_in_progress: i64,
    /// When a cancel was first sent to the channel; never cleared.
    pub cancel_started_ms: Option<i64>,
    /// The error the create answered with, as `payments::CreateError`
    /// JSON; none when it answered with the payment.
    pub create_error: Option<String>,
}

impl PaymentRecord {
    pub fn status(&self) -> PaymentStatus {
        // Only the state machine writes this column, always from the enum.
        self.status.parse().unwrap_or(PaymentStatus::Unknown)
    }

    /// A checkout payment whose payer has not chosen a wallet yet: no
    /// channel was asked, so nothing can have been paid.
    pub fn awaiting_wallet(&self) -> bool {
        self.channel_id.is_empty()
    }

    /// A cancel was sent to the channel (and may have reversed it) and has
    /// not been shown to have failed.
    pub fn cancelling(&self) -> bool {
        self.cancel_in_progress != 0
    }
}

/// An open payment the sweeper should look at, with how often it did.
#[derive(Debug, Clone, FromRow)]
pub struct DuePayment {
    #[sqlx(flatten)]
    pub record: PaymentRecord,
    pub checks: i64,
}

/// A payment about to be submitted; it is stored as `unknown` before the
/// channel is called, so a crash mid-call leaves a row the sweeper resolves.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub id: String,
    pub tenant_id: String,
    pub merchant_order_no: String,
    pub request_hash: String,
    pub request: String,
    pub scene: String,
    pub wallet: String,
    pub amount: i64,
    pub currency: String,
    pub channel_id: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub notify_url: Option<String>,
    pub metadata: String,
    pub idempotency_key: Option<String>,
    /// Scene `checkout`: stored `pending` with no channel, and its link.
    pub checkout: Option<NewCheckoutLink>,
}

/// The hosted page's link for a new checkout payment.
#[derive(Debug, Clone)]
pub struct NewCheckoutLink {
    pub token: String,
    pub url: String,
    pub return_url: Option<String>,
    pub expires_ms: i64,
}

/// The channel a still-`unknown` payment moves to.
#[derive(Debug, Clone)]
pub struct ChannelSwitch {
    pub channel_id: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub wallet: String,
}

pub enum InsertOutcome {
    Created(PaymentRecord),
    /// The order number or idempotency key was seen before.
    Existing {
        record: PaymentRecord,
        same_request: bool,
    },
}

/// A state change decided by the state machine.
#[derive(Debug, Clone, Default)]
pub struct PaymentChange {
    pub status: Option<PaymentStatus>,
    pub channel_order_no: Option<String>,
    pub action: Option<serde_json::Value>,
    pub failure: Option<Option<serde_json::Value>>,
    pub review_reason: Option<String>,
    /// The channel attempt that produced this change, recorded with it.
    pub attempt: Option<Attempt>,
}

/// One call to a channel, for the payment's history: its entry in the
/// payment's `attempts` (compact JSON) and its `payment.attempt` event.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub entry: serde_json::Value,
    pub event: Event,
    /// The error the create answers with after this attempt, kept with the
    /// payment (`create_error`) in the same write, for the create's replays.
    pub create_error: Option<String>,
}

/// `attempts` with the JSON entry `$p` appended. Plain text splicing, the
/// same in both dialects: `attempts` is only ever written this way.
macro_rules! appended_attempt {
    ($p:literal) => {
        concat!(
            "CASE WHEN attempts = '[]' THEN '[' || ",
            $p,
            " || ']' ELSE substr(attempts, 1, length(attempts) - 1) || ',' || ",
            $p,
            " || ']' END"
        )
    };
}

/// The payment insert, shared by the general path and SQLite's one-trip
/// script; `bind_new_payment!` gives its first 19 parameters. No row back
/// means the order number is taken (see `try_insert_payment`).
macro_rules! insert_payment_sql {
    () => {
        "INSERT INTO payments (id, tenant_id, merchant_order_no, request_hash, request, status, scene, wallet,
            amount, currency, channel_id, plugin_name, plugin_version, notify_url, metadata,
            created_at, updated_at, created_ms, checkout_url)
         VALUES ($1, $2, $3, $4, $5, $18, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $19)
         ON CONFLICT DO NOTHING
         RETURNING *"
    };
}

macro_rules! bind_new_payment {
    ($query:expr, $new:expr, $now:expr, $status:expr) => {
        $query
            .bind($new.id.clone())
            .bind($new.tenant_id.clone())
            .bind($new.merchant_order_no.clone())
            .bind($new.request_hash.clone())
            .bind($new.request.clone())
            .bind($new.scene.clone())
            .bind($new.wallet.clone())
            .bind($new.amount)
            .bind($new.currency.clone())
            .bind($new.channel_id.clone())
            .bind($new.plugin_name.clone())
            .bind($new.plugin_version.clone())
            .bind($new.notify_url.clone())
            .bind($new.metadata.clone())
            .bind($now.clone())
            .bind($now.clone())
            .bind(now_millis())
            .bind($status.as_str())
            .bind($new.checkout.as_ref().map(|c| c.url.clone()))
    };
}

/// A state change if nobody changed the row since it was read (`$10` is
/// the version read); `bind_change!` gives its 12 parameters. A move to
/// `cancelled` (a reversal refunds the payment in full) also needs no refund
/// reserved: with `start_cancel` excluding refunds this never fails, but the
/// bound holds in the statement that writes, whatever its caller read.
macro_rules! change_payment_sql {
    () => {
        concat!(
            "UPDATE payments SET
                status = COALESCE($1, status),
                channel_order_no = COALESCE($2, channel_order_no),
                action = COALESCE($3, action),
                failure = CASE WHEN $4 THEN $5 ELSE failure END,
                review_reason = COALESCE($6, review_reason),
                attempts = CASE WHEN $11 IS NULL THEN attempts ELSE ",
            appended_attempt!("$11"),
            " END,
                create_error = COALESCE($12, create_error),
                version = version + 1,
                updated_at = $7
             WHERE id = $8 AND tenant_id = $9 AND version = $10
                AND (COALESCE($1, '') <> 'cancelled' OR refund_reserved = 0)
             RETURNING *"
        )
    };
}

macro_rules! bind_change {
    ($query:expr, $current:expr, $change:expr) => {{
        let failure = $change
            .failure
            .as_ref()
            .map(|f| f.as_ref().map(|v| v.to_string()));
        $query
            .bind($change.status.map(|s| s.as_str()))
            .bind($change.channel_order_no.clone())
            .bind($change.action.as_ref().map(|a| a.to_string()))
            .bind(failure.is_some())
            .bind(failure.flatten())
            .bind($change.review_reason.clone())
            .bind(now_rfc3339())
            .bind($current.id.clone())
            .bind($current.tenant_id.clone())
            .bind($current.version)
            .bind($change.attempt.as_ref().map(|a| a.entry.to_string()))
            .bind(
                $change
                    .attempt
                    .as_ref()
                    .and_then(|a| a.create_error.clone()),
            )
    }};
}

/// SQLite: the change, its events (the attempt's, `$13`–`$16`, when there
/// is one; the change's, `$17`–`$20`) and its webhook (`$21`–`$26`, when
/// there is one) in one trip (`one_trip`). Each insert runs only if the
/// statement before it wrote: no row changed means no history.
const CHANGE_PAYMENT_SCRIPT: &str = concat!(
    "BEGIN IMMEDIATE;\n",
    change_payment_sql!(),
    ";\nINSERT INTO events (tenant_id, subject_type, subject_id, kind, from_status, to_status, detail, created_at)
     SELECT $9, 'payment', $8, column1, column2, column3, column4, $7
     FROM (VALUES ($13, $14, $15, $16), ($17, $18, $19, $20))
     WHERE changes() > 0 AND column1 IS NOT NULL;
     INSERT INTO outbox (id, tenant_id, payment_id, event_type, url, payload, attempts, next_attempt_ms, created_at)
     SELECT $21, $9, $22, $23, $24, $25, 0, $26, $7 WHERE changes() > 0 AND $21 IS NOT NULL;
     COMMIT"
);

/// SQLite: the insert and its `payment.created` event in one trip
/// (`one_trip`); `$20` is the event's detail.
const INSERT_PAYMENT_SCRIPT: &str = concat!(
    "BEGIN IMMEDIATE;\n",
    insert_payment_sql!(),
    ";\nINSERT INTO events (tenant_id, subject_type, subject_id, kind, from_status, to_status, detail, created_at)
     SELECT $2, 'payment', $1, 'payment.created', NULL, $18, $20, $15 WHERE changes() > 0;
     COMMIT"
);

impl Store {
    /// Inserts a new payment as `unknown` with its `payment.created` event,
    /// or returns the one its order number or idempotency key names.
    pub async fn insert_payment(&self, new: NewPayment) -> StoreResult<InsertOutcome> {
        match self.try_insert_payment(&new).await {
            // Another writer took the same idempotency key between our
            // look-up and our insert; its transaction has committed, so
            // looking again finds its payment.
            Err(StoreError::Conflict(_)) => self.try_insert_payment(&new).await,
            outcome => outcome,
        }
    }

    async fn try_insert_payment(&self, new: &NewPayment) -> StoreResult<InsertOutcome> {
        if let (super::Db::Sqlite(pool), None, None) =
            (&self.db, &new.idempotency_key, &new.checkout)
        {
            return self.insert_payment_in_one_trip(pool, new).await;
        }
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(key) = &new.idempotency_key {
                let seen: Option<(String, String)> = sqlx::query_as(
                    "SELECT request_hash, payment_id FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
                )
                .bind(&new.tenant_id)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((hash, payment_id)) = seen {
                    let record = tx
                        .fetch_payment(&new.tenant_id, &payment_id)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    return Ok(InsertOutcome::Existing {
                        same_request: hash == new.request_hash,
                        record,
                    });
                }
            }
            let now = now_rfc3339();
            let status = if new.checkout.is_some() {
                PaymentStatus::Pending
            } else {
                PaymentStatus::Unknown
            };
            // RETURNING saves a read of the row back, and DO NOTHING a look-up
            // before: each is a round trip to the database, which is most of
            // what a payment costs.
            let inserted: Option<PaymentRecord> =
                bind_new_payment!(sqlx::query_as(insert_payment_sql!()), new, now, status)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(record) = inserted else {
                let existing = tx
                    .fetch_order(&new.tenant_id, &new.merchant_order_no)
                    .await?;
                return existing_order(new, existing);
            };
            if let Some(link) = &new.checkout {
                sqlx::query(
                    "INSERT INTO checkout_links (token, tenant_id, payment_id, return_url, expires_ms, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&link.token)
                .bind(&new.tenant_id)
                .bind(&new.id)
                .bind(&link.return_url)
                .bind(link.expires_ms)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(key) = &new.idempotency_key {
                sqlx::query(
                    "INSERT INTO idempotency_keys (tenant_id, key, request_hash, payment_id, created_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&new.tenant_id)
                .bind(key)
                .bind(&new.request_hash)
                .bind(&new.id)
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_violation(e, "idempotency_keys_pkey"))?;
            }
            let event = Event {
                kind: "payment.created",
                from_status: None,
                to_status: Some(status.as_str().into()),
                detail: created_detail(new),
            };
            tx.append_event(&new.tenant_id, "payment", &new.id, &event)
                .await?;
            tx.commit().await?;
            Ok(InsertOutcome::Created(record))
        })
    }

    /// SQLite, a plain payment (no idempotency key, no checkout link): the
    /// same insert and event as `try_insert_payment`, in one trip.
    async fn insert_payment_in_one_trip(
        &self,
        pool: &sqlx::SqlitePool,
        new: &NewPayment,
    ) -> StoreResult<InsertOutcome> {
        let now = now_rfc3339();
        let status = PaymentStatus::Unknown;
        let script = bind_new_payment!(sqlx::query_as(INSERT_PAYMENT_SCRIPT), new, now, status)
            .bind(created_detail(new).to_string());
        match super::one_trip::write(pool, script).await?.pop() {
            Some(record) => Ok(InsertOutcome::Created(record)),
            None => {
                let existing = self
                    .payment_by_order_no(&new.tenant_id, &new.merchant_order_no)
                    .await?;
                existing_order(new, existing)
            }
        }
    }

    pub async fn payment(&self, tenant_id: &str, id: &str) -> StoreResult<Option<PaymentRecord>> {
        on_db!(self, |pool| pool
            .acquire()
            .await?
            .fetch_payment(tenant_id, id)
            .await)
    }

    pub async fn payment_by_order_no(
        &self,
        tenant_id: &str,
        merchant_order_no: &str,
    ) -> StoreResult<Option<PaymentRecord>> {
        on_db!(self, |pool| pool
            .acquire()
            .await?
            .fetch_order(tenant_id, merchant_order_no)
            .await)
    }

    /// Claims open payments (`pending`, `processing`, `unknown`, and paid
    /// ones whose cancel's outcome is unknown) whose next check is due — by default `min_age_ms` after creation, then as the
    /// sweeper scheduled it — most overdue first: the sweeper's work list.
    /// Claiming moves the next check `lease_ms` ahead, so other instances
    /// leave these rows alone while this one works on them, and take them
    /// up again if it dies before scheduling the next check.
    pub async fn claim_due_payments(
        &self,
        min_age_ms: i64,
        limit: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<DuePayment>> {
        let mut due: Vec<DuePayment> = on_db!(self, |pool| sqlx::query_as(pool.pick(&CLAIM_DUE))
            .bind(min_age_ms)
            .bind(now_millis())
            .bind(limit)
            .bind(lease_ms)
            .fetch_all(&mut *pool.write_conn().await?)
            .await)?;
        // RETURNING gives no order.
        due.sort_by_key(|d| d.record.created_ms);
        Ok(due)
    }

    /// Records that the sweeper checked a payment and when to check it next.
    /// Not a state change: no version bump, no event.
    pub async fn schedule_payment_check(
        &self,
        tenant_id: &str,
        id: &str,
        checks: i64,
        next_check_ms: i64,
    ) -> StoreResult<()> {
        let sql =
            "UPDATE payments SET checks = $1, next_check_ms = $2 WHERE id = $3 AND tenant_id = $4";
        self.schedule_check(sql, tenant_id, id, checks, next_check_ms)
            .await
    }

    /// Runs one of the two schedule statements (payments, refunds): they
    /// differ only in the table.
    pub(super) async fn schedule_check(
        &self,
        sql: &'static str,
        tenant_id: &str,
        id: &str,
        checks: i64,
        next_check_ms: i64,
    ) -> StoreResult<()> {
        on_db!(self, |pool| sqlx::query(sql)
            .bind(checks)
            .bind(next_check_ms)
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *pool.write_conn().await?)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Applies a change decided by the state machine, if nobody changed the
    /// row since `current` was read; appends `event` and, when given, queues
    /// the merchant webhook in the same transaction.
    pub async fn apply_payment_change(
        &self,
        current: &PaymentRecord,
        change: &PaymentChange,
        event: &Event,
        webhook: Option<super::OutboxMessage>,
    ) -> StoreResult<PaymentRecord> {
        if let super::Db::Sqlite(pool) = &self.db {
            return self
                .apply_payment_change_in_one_trip(pool, current, change, event, webhook)
                .await;
        }
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // The row as changed (RETURNING: no read back), or none when
            // someone changed it first.
            let updated: Option<PaymentRecord> =
                bind_change!(sqlx::query_as(change_payment_sql!()), current, change)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(record) = updated else {
                return Err(StoreError::Stale);
            };
            let events: Vec<&Event> = change
                .attempt
                .iter()
                .map(|a| &a.event)
                .chain([event])
                .collect();
            tx.append_events(&current.tenant_id, "payment", &current.id, &events)
                .await?;
            if let Some(message) = webhook {
                tx.enqueue(&message).await?;
            }
            tx.commit().await?;
            Ok(record)
        })
    }

    /// SQLite: `apply_payment_change` in one trip: the conditional update,
    /// then its events and webhook only if it changed the row.
    async fn apply_payment_change_in_one_trip(
        &self,
        pool: &sqlx::SqlitePool,
        current: &PaymentRecord,
        change: &PaymentChange,
        event: &Event,
        webhook: Option<super::OutboxMessage>,
    ) -> StoreResult<PaymentRecord> {
        let attempt = change.attempt.as_ref().map(|a| &a.event);
        let webhook = webhook.as_ref();
        let script = bind_change!(sqlx::query_as(CHANGE_PAYMENT_SCRIPT), current, change)
            .bind(attempt.map(|e| e.kind))
            .bind(attempt.and_then(|e| e.from_status.clone()))
            .bind(attempt.and_then(|e| e.to_status.clone()))
            .bind(attempt.map(|e| e.detail.to_string()))
            .bind(event.kind)
            .bind(event.from_status.clone())
            .bind(event.to_status.clone())
            .bind(event.detail.to_string())
            .bind(webhook.map(|m| m.id.clone()))
            .bind(webhook.and_then(|m| m.payment_id.clone()))
            .bind(webhook.map(|m| m.event_type.clone()))
            .bind(webhook.map(|m| m.url.clone()))
            .bind(webhook.map(|m| m.payload.clone()))
            .bind(now_millis());
        super::one_trip::write(pool, script)
            .await?
            .pop()
            .ok_or(StoreError::Stale)
    }

    /// Appends one channel attempt to the payment's `attempts` (and keeps
    /// the create's error it brought, if any) and records its event, then
    /// `then` if given, in one transaction. Status and version are
    /// untouched: an attempt is history, not a state change.
    pub async fn record_attempt(
        &self,
        current: &PaymentRecord,
        attempt: &Attempt,
        then: Option<&Event>,
    ) -> StoreResult<PaymentRecord> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let record: PaymentRecord = sqlx::query_as(concat!(
                "UPDATE payments SET attempts = ",
                appended_attempt!("$1"),
                ", create_error = COALESCE($4, create_error)",
                " WHERE id = $2 AND tenant_id = $3 RETURNING *"
            ))
            .bind(attempt.entry.to_string())
            .bind(&current.id)
            .bind(&current.tenant_id)
            .bind(&attempt.create_error)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            let events: Vec<&Event> = std::iter::once(&attempt.event).chain(then).collect();
            tx.append_events(&current.tenant_id, "payment", &current.id, &events)
                .await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    /// Moves a payment that is still `unknown` (its previous channel
    /// certainly took no money) to another channel, with its event. `Stale`
    /// if the row changed since `current` was read or is no longer unknown.
    pub async fn switch_payment_channel(
        &self,
        current: &PaymentRecord,
        to: &ChannelSwitch,
        event: &Event,
    ) -> StoreResult<PaymentRecord> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // RETURNING: the row as moved, or none when it changed first.
            let moved: Option<PaymentRecord> = sqlx::query_as(
                "UPDATE payments SET channel_id = $1, plugin_name = $2, plugin_version = $3, wallet = $4,
                    version = version + 1, updated_at = $5
                 WHERE id = $6 AND tenant_id = $7 AND version = $8 AND status = 'unknown'
                 RETURNING *",
            )
            .bind(&to.channel_id)
            .bind(&to.plugin_name)
            .bind(&to.plugin_version)
            .bind(&to.wallet)
            .bind(now_rfc3339())
            .bind(&current.id)
            .bind(&current.tenant_id)
            .bind(current.version)
            .fetch_optional(&mut *tx)
            .await?;
            let record = moved.ok_or(StoreError::Stale)?;
            tx.append_event(&current.tenant_id, "payment", &current.id, event)
                .await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    /// Records an event without changing state (e.g. a refused transition).
    pub async fn record_payment_event(
        &self,
        current: &PaymentRecord,
        event: &Event,
    ) -> StoreResult<()> {
        self.record_event(&current.tenant_id, "payment", &current.id, event)
            .await
    }
}

/// The sweeper's claim: `$1` min age, `$2` now, `$3` limit, `$4` lease.
/// PostgreSQL skips rows another instance is claiming (or a writer holds)
/// rather than waiting for them; SQLite has one writer at a time anyway.
macro_rules! claim_due_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE payments SET next_check_ms = $2 + $4 WHERE id IN (
                SELECT id FROM payments WHERE (status IN ('pending', 'processing', 'unknown')
                        OR status = 'succeeded' AND cancel_in_progress = 1)
                    AND COALESCE(next_check_ms, created_ms + $1) <= $2
                ORDER BY COALESCE(next_check_ms, created_ms + $1) LIMIT $3",
            $lock,
            ") RETURNING *"
        )
    };
}

const CLAIM_DUE: Dialects = Dialects {
    sqlite: claim_due_sql!(""),
    postgres: claim_due_sql!(" FOR UPDATE SKIP LOCKED"),
};

/// The `payment.created` event's detail.
fn created_detail(new: &NewPayment) -> serde_json::Value {
    if new.checkout.is_some() {
        serde_json::json!({ "checkout": true })
    } else {
        serde_json::json!({ "channel": new.channel_id, "plugin": format!("{}@{}", new.plugin_name, new.plugin_version) })
    }
}

/// The answer to an insert whose order number was taken: the order's row.
fn existing_order(new: &NewPayment, existing: Option<PaymentRecord>) -> StoreResult<InsertOutcome> {
    // Only the payment id, 96 random bits, could collide otherwise.
    let record = existing.ok_or(StoreError::Conflict("payments_pkey"))?;
    Ok(InsertOutcome::Existing {
        same_request: record.request_hash == new.request_hash,
        record,
    })
}

pub(super) trait PaymentRows {
    async fn fetch_order(
        &mut self,
        tenant_id: &str,
        merchant_order_no: &str,
    ) -> StoreResult<Option<PaymentRecord>>;
    async fn fetch_payment(
        &mut self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<PaymentRecord>>;
}

impl_for_connections! {
    impl PaymentRows {
        async fn fetch_order(
            &mut self,
            tenant_id: &str,
            merchant_order_no: &str,
        ) -> StoreResult<Option<PaymentRecord>> {
            Ok(sqlx::query_as("SELECT * FROM payments WHERE tenant_id = $1 AND merchant_order_no = $2")
                .bind(tenant_id)
                .bind(merchant_order_no)
                .fetch_optional(self)
                .await?)
        }

        async fn fetch_payment(
            &mut self,
            tenant_id: &str,
            id: &str,
        ) -> StoreResult<Option<PaymentRecord>> {
            Ok(sqlx::query_as("SELECT * FROM payments WHERE id = $1 AND tenant_id = $2")
                .bind(id)
                .bind(tenant_id)
                .fetch_optional(self)
                .await?)
        }
    }
}
