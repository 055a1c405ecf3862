//! Inserting a payment: one order number (or idempotency key) is one
//! payment, the loser of a race reads the winner's row; on SQLite the
//! insert and its event go in one trip.

use super::payments::*;
use super::{Dialect, EventRows, Store, StoreError, StoreResult, on_db, unique_violation};
use crate::domain::PaymentId;

/// The payment insert, shared by the general path and SQLite's one-trip
/// script; `bind_new_payment!` gives its first 20 parameters. No row back
/// means the order number is taken (see `try_insert_payment`).
macro_rules! insert_payment_sql {
    () => {
        "INSERT INTO payments (id, tenant_id, merchant_order_no, request_hash, request, status, scene, wallet,
            amount, currency, channel_id, plugin_name, plugin_version, notify_url, metadata,
            created_at, updated_at, created_ms, checkout_url, channel_amount)
         VALUES ($1, $2, $3, $4, $5, $18, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $19, $20)
         ON CONFLICT DO NOTHING
         RETURNING *"
    };
}

macro_rules! bind_new_payment {
    ($query:expr, $new:expr, $now:expr, $clock:expr) => {{
        // A hosted-page payment has no channel until the payer chooses.
        let column = |f: fn(&ChannelAssignment) -> &String| {
            $new.channel
                .as_ref()
                .map_or(String::new(), |c| f(c).clone())
        };
        $query
            .bind($new.id.clone())
            .bind($new.tenant_id.clone())
            .bind($new.merchant_order_no.clone())
            .bind($new.request_hash.clone())
            .bind($new.request.clone())
            .bind($new.scene.as_str())
            .bind(column(|c| &c.wallet))
            .bind($new.amount)
            .bind($new.currency.clone())
            .bind(column(|c| &c.channel_id))
            .bind(column(|c| &c.plugin_name))
            .bind(column(|c| &c.plugin_version))
            .bind($new.notify_url.clone())
            .bind($new.metadata.clone())
            .bind($now.clone())
            .bind($now.clone())
            .bind($clock.now_millis())
            .bind($new.status.as_str())
            .bind($new.checkout.as_ref().map(|c| c.url.clone()))
            .bind($new.channel_amount)
    }};
}

/// SQLite: the insert and its `payment.created` event as one group-committed
/// write (`group_commit`), the event only if the insert wrote; `$21`–`$24`
/// are the event's kind, statuses and detail.
const INSERT_PAYMENT_SCRIPT: &str = concat!(
    insert_payment_sql!(),
    ";\nINSERT INTO events (tenant_id, subject_type, subject_id, kind, from_status, to_status, detail, created_at)
     SELECT $2, 'payment', $1, $21, $22, $23, $24, $15 WHERE changes() > 0"
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
        if let (Some(writer), None, None, true) = (
            &self.writer,
            &new.idempotency_key,
            &new.checkout,
            new.tenders.is_empty(),
        ) {
            return self.insert_payment_in_one_trip(writer, new).await;
        }
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(key) = &new.idempotency_key {
                let seen: Option<(String, PaymentId)> = sqlx::query_as(
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
            let now = self.clock.now_rfc3339();
            // RETURNING saves a read of the row back, and DO NOTHING a look-up
            // before: each is a round trip to the database, which is most of
            // what a payment costs.
            let inserted: Option<PaymentRecord> =
                bind_new_payment!(sqlx::query_as(insert_payment_sql!()), new, now, self.clock)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(record) = inserted else {
                let existing = tx
                    .fetch_order(&new.tenant_id, &new.merchant_order_no)
                    .await?;
                return existing_order(new, existing);
            };
            super::tenders::insert_tenders(&mut *tx, &new.tenant_id, &new.id, &new.tenders).await?;
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
            tx.append_event(
                &new.tenant_id,
                "payment",
                &new.id,
                &new.created,
                &self.clock,
            )
            .await?;
            tx.commit().await?;
            Ok(InsertOutcome::Created(record))
        })
    }

    /// SQLite, a plain payment (no idempotency key, no checkout link, no
    /// tenders): the same insert and event as `try_insert_payment`, as one
    /// script for the group-committing writer.
    async fn insert_payment_in_one_trip(
        &self,
        writer: &super::group_commit::Writer,
        new: &NewPayment,
    ) -> StoreResult<InsertOutcome> {
        let now = self.clock.now_rfc3339();
        let event = &new.created;
        let script = bind_new_payment!(sqlx::query(INSERT_PAYMENT_SCRIPT), new, now, self.clock)
            .bind(event.kind.as_str())
            .bind(event.from_status)
            .bind(event.to_status)
            .bind(event.detail.to_string());
        match writer.write::<PaymentRecord>(script).await?.pop() {
            Some(record) => Ok(InsertOutcome::Created(record)),
            None => {
                let existing = self
                    .payment_by_order_no(&new.tenant_id, &new.merchant_order_no)
                    .await?;
                existing_order(new, existing)
            }
        }
    }
}

/// The `payment.created` event's detail.
/// The answer to an insert whose order number was taken: the order's row.
fn existing_order(new: &NewPayment, existing: Option<PaymentRecord>) -> StoreResult<InsertOutcome> {
    // Only the payment id, 96 random bits, could collide otherwise.
    let record = existing.ok_or(StoreError::Conflict("payments_pkey"))?;
    Ok(InsertOutcome::Existing {
        same_request: record.request_hash == new.request_hash,
        record,
    })
}
