//! Changing a payment: a state change decided by the state machine,
//! written only if nobody changed the row since it was read, with its
//! attempt, events and webhook; a channel switch; an event on its own.

use super::outbox::OutboxRows;
use super::payments::*;
use super::{Dialect, Event, EventRows, Store, StoreError, StoreResult, WalletChoice, on_db};
use crate::domain::Scene;

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

/// A state change if nobody changed the row since it was read (`$10` is
/// the version read); `bind_change!` gives its 13 parameters. A payment's
/// first success stamps `paid_ms`, and its cancel `cancelled_ms`: the
/// times reconciliation dates it by. A move to
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
                paid_ms = CASE WHEN $1 = 'succeeded' AND paid_ms IS NULL
                    THEN $13 ELSE paid_ms END,
                cancelled_ms = CASE WHEN $1 = 'cancelled' AND cancelled_ms IS NULL
                    THEN $13 ELSE cancelled_ms END,
                version = version + 1,
                updated_at = $7
             WHERE id = $8 AND tenant_id = $9 AND version = $10
                AND (COALESCE($1, '') <> 'cancelled' OR refund_reserved = 0)
             RETURNING *"
        )
    };
}

macro_rules! bind_change {
    ($query:expr, $current:expr, $change:expr, $clock:expr) => {{
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
            .bind($clock.now_rfc3339())
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
            .bind($clock.now_millis())
    }};
}

/// SQLite: the change, its events (the attempt's, `$14`–`$17`, when there
/// is one; the change's, `$18`–`$21`) and its webhook (`$22`–`$27`, when
/// there is one) as one group-committed write (`group_commit`). Each insert runs only if the
/// statement before it wrote: no row changed means no history.
const CHANGE_PAYMENT_SCRIPT: &str = concat!(
    change_payment_sql!(),
    ";\nINSERT INTO events (tenant_id, subject_type, subject_id, kind, from_status, to_status, detail, created_at)
     SELECT $9, 'payment', $8, column1, column2, column3, column4, $7
     FROM (VALUES ($14, $15, $16, $17), ($18, $19, $20, $21))
     WHERE changes() > 0 AND column1 IS NOT NULL;
     INSERT INTO outbox (id, tenant_id, payment_id, event_type, url, payload, attempts, next_attempt_ms, created_at)
     SELECT $22, $9, $23, $24, $25, $26, 0, $27, $7 WHERE changes() > 0 AND $22 IS NOT NULL"
);

impl Store {
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
        if let Some(writer) = &self.writer {
            return self
                .apply_payment_change_in_one_trip(writer, current, change, event, webhook)
                .await;
        }
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // The row as changed (RETURNING: no read back), or none when
            // someone changed it first.
            let updated: Option<PaymentRecord> = bind_change!(
                sqlx::query_as(change_payment_sql!()),
                current,
                change,
                self.clock
            )
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
            tx.append_events(
                &current.tenant_id,
                "payment",
                &current.id,
                &events,
                &self.clock,
            )
            .await?;
            if let Some(message) = webhook {
                tx.enqueue(&message, &self.clock).await?;
            }
            tx.commit().await?;
            Ok(record)
        })
    }

    /// SQLite: `apply_payment_change` in one trip: the conditional update,
    /// then its events and webhook only if it changed the row.
    async fn apply_payment_change_in_one_trip(
        &self,
        writer: &super::group_commit::Writer,
        current: &PaymentRecord,
        change: &PaymentChange,
        event: &Event,
        webhook: Option<super::OutboxMessage>,
    ) -> StoreResult<PaymentRecord> {
        let attempt = change.attempt.as_ref().map(|a| &a.event);
        let webhook = webhook.as_ref();
        let script = bind_change!(
            sqlx::query(CHANGE_PAYMENT_SCRIPT),
            current,
            change,
            self.clock
        )
        .bind(attempt.map(|e| e.kind.as_str()))
        .bind(attempt.and_then(|e| e.from_status))
        .bind(attempt.and_then(|e| e.to_status))
        .bind(attempt.map(|e| e.detail.to_string()))
        .bind(event.kind.as_str())
        .bind(event.from_status)
        .bind(event.to_status)
        .bind(event.detail.to_string())
        .bind(webhook.map(|m| m.id.clone()))
        .bind(webhook.and_then(|m| m.payment_id.clone()))
        .bind(webhook.map(|m| m.event_type.clone()))
        .bind(webhook.map(|m| m.url.clone()))
        .bind(webhook.map(|m| m.payload.clone()))
        .bind(self.clock.now_millis());
        writer
            .write::<PaymentRecord>(script)
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
            tx.append_events(
                &current.tenant_id,
                "payment",
                &current.id,
                &events,
                &self.clock,
            )
            .await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    /// Moves a payment to another channel as the state machine decided
    /// (`payments::machine::switch_channel`: only while `unknown`, its
    /// previous channel having certainly taken no money), with its event.
    /// `Stale` if the row changed since `current` was read.
    pub async fn switch_payment_channel(
        &self,
        current: &PaymentRecord,
        to: &ChannelAssignment,
        decided: &Move,
    ) -> StoreResult<PaymentRecord> {
        self.move_to_channel(current, to, None, decided).await
    }

    /// Sends a checkout payment to the channel of the wallet its payer chose
    /// (`payments::machine::assign_channel`: `pending` with no channel yet,
    /// to `unknown`), asked under `choice.scene`, with its event. `Stale` if
    /// the row changed since `current` was read.
    pub async fn assign_checkout_channel(
        &self,
        current: &PaymentRecord,
        choice: &WalletChoice,
        decided: &Move,
    ) -> StoreResult<PaymentRecord> {
        self.move_to_channel(current, &choice.channel, Some(choice.scene), decided)
            .await
    }

    /// The one write of a channel move: the channel (and the scene, when
    /// given) and the status the machine decided, if the row is still at
    /// the version and status it was decided on, with the move's event.
    async fn move_to_channel(
        &self,
        current: &PaymentRecord,
        to: &ChannelAssignment,
        scene: Option<Scene>,
        decided: &Move,
    ) -> StoreResult<PaymentRecord> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // RETURNING: the row as moved, or none when it changed first.
            let moved: Option<PaymentRecord> = sqlx::query_as(
                "UPDATE payments SET channel_id = $1, plugin_name = $2, plugin_version = $3, wallet = $4,
                    scene = COALESCE($11, scene), status = $9, version = version + 1, updated_at = $5
                 WHERE id = $6 AND tenant_id = $7 AND version = $8 AND status = $10
                 RETURNING *",
            )
            .bind(&to.channel_id)
            .bind(&to.plugin_name)
            .bind(&to.plugin_version)
            .bind(&to.wallet)
            .bind(self.clock.now_rfc3339())
            .bind(&current.id)
            .bind(&current.tenant_id)
            .bind(current.version)
            .bind(decided.to.as_str())
            .bind(decided.from.as_str())
            .bind(scene.map(Scene::as_str))
            .fetch_optional(&mut *tx)
            .await?;
            let record = moved.ok_or(StoreError::Stale)?;
            tx.append_event(
                &current.tenant_id,
                "payment",
                &current.id,
                &decided.event,
                &self.clock,
            )
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
