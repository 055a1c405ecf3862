//! Converges open payments and refunds without a client asking: anything
//! still `pending`, `processing` or `unknown` is queried on a per-row
//! back-off schedule, so a lost callback or a timed-out pay call never
//! leaves money in limbo.
//!
//! Deadlines: a barcode/face payment still unpaid `barcode_deadline` after
//! creation is cancelled (reversed); a pending payment of another scene
//! past its `expires_in` (or `pending_expiry` without one) is closed. Both
//! go through the state machine like any change, so the merchant hears of
//! them by webhook. Nothing is assumed: the sweeper always asks the channel
//! first, and a payment leaves `unknown` only on the channel's answer.
//!
//! Several instances share the work: each pass claims its rows for a lease
//! (PostgreSQL skipping rows another instance holds), so no two instances
//! query the same payment at once and a dead instance's rows come back.
//!
//! The ledger's value is looked after too: holds a crash left `held` behind
//! a final payment are captured or released (`stranded_holds`), and cards
//! whose validity ended are expired (`card_expiry`). Neither asks a
//! channel; both are keyed moves applied to the rows as read, so instances
//! sweeping at once move value once.
//!
//! Channels with a `reconcile_at` have yesterday reconciled once that local
//! time has passed (`reconciliations`).

mod card_expiry;
mod reconciliations;
mod stranded_holds;

use crate::config::SweeperConfig;
use crate::domain::PaymentStatus;
use crate::payments::Payments;
use crate::registry::Tenant;
use crate::store::{DuePayment, DueRefund, PaymentRecord};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// At most this many payments (and as many refunds) per pass, most overdue first.
const BATCH: i64 = 50;
/// How long a claimed row is left to this instance before another may look
/// at it: the two channel calls a row may take (a query, then a cancel or
/// close), and some slack. Rows are re-scheduled as soon as they are
/// checked, so this only bounds how long a dead instance's rows wait; if a
/// pass outlives it, another instance merely asks the channel twice, which
/// is harmless.
fn lease(call_timeout: Duration) -> Duration {
    call_timeout.saturating_mul(2) + Duration::from_secs(5)
}

pub async fn run(payments: Arc<Payments>, config: SweeperConfig, mut stop: watch::Receiver<bool>) {
    // One instance per SQLite file: claims still held now were held by this
    // file's previous process, which is gone (a kill -9 mid-pass). Its rows
    // are looked at again at once rather than when their lease runs out.
    if payments.store().backend() == crate::store::Backend::Sqlite {
        match payments.store().release_claims().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                rows = n,
                "released the sweeper's claims of the previous process"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot release the previous process's claims"),
        }
    }
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(config.interval) => {}
        }
        match sweep_once(&payments, &config).await {
            Ok(report) if report != SweepReport::default() => {
                tracing::debug!(?report, "sweeper pass");
                report.record_metrics();
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sweeper pass failed"),
        }
        if let Err(e) = reconciliations::start_due(&payments).await {
            tracing::warn!(error = %e, "cannot start the scheduled reconciliations");
        }
        match payments.unsettled(0).await {
            Ok(u) => {
                metrics::gauge!("paycore_unsettled", "kind" => "payment").set(u.payments as f64);
                metrics::gauge!("paycore_unsettled", "kind" => "refund").set(u.refunds as f64);
            }
            Err(e) => tracing::warn!(error = %e, "cannot count unsettled payments"),
        }
    }
}

/// What one pass did, for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Payments queried.
    pub payments_checked: usize,
    /// Of those, how many reached a final state in this pass.
    pub payments_settled: usize,
    /// Barcode payments cancelled at their deadline.
    pub cancelled: usize,
    /// Pending payments closed at their expiry.
    pub closed: usize,
    /// Paid payments whose cancel had an unknown outcome, cancelled again.
    pub cancels_resumed: usize,
    pub refunds_checked: usize,
    pub refunds_settled: usize,
    /// Card top-ups (and failed top-up refunds) looked at because a crash
    /// left them between their payment's end and the card.
    pub card_follow_ups: usize,
    /// Combined orders' refunds whose coupons' and cards' parts a crash
    /// left uncredited, credited now.
    pub refund_credits: usize,
    pub holds: stranded_holds::HoldsReport,
    /// Cards made dormant or closed at the end of their validity.
    pub cards_expired: usize,
}

impl SweepReport {
    fn record_metrics(&self) {
        let counts = [
            ("payments_checked", self.payments_checked),
            ("payments_settled", self.payments_settled),
            ("cancelled_at_deadline", self.cancelled),
            ("closed_at_expiry", self.closed),
            ("cancels_resumed", self.cancels_resumed),
            ("refunds_checked", self.refunds_checked),
            ("refunds_settled", self.refunds_settled),
            ("card_follow_ups", self.card_follow_ups),
            ("refund_credits", self.refund_credits),
            ("holds_captured", self.holds.captured),
            ("holds_released", self.holds.released),
            ("cards_expired", self.cards_expired),
        ];
        for (what, n) in counts {
            metrics::counter!("paycore_sweeper_total", "what" => what).increment(n as u64);
        }
    }
}

/// What the sweeper does to a payment when its deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Reverse an unpaid barcode/face payment.
    Cancel,
    /// Close a pending payment the payer never paid.
    Close,
}

/// When (unix ms) and how an open payment stops waiting for its payer.
pub fn deadline(p: &PaymentRecord, config: &SweeperConfig) -> (i64, Expiry) {
    if p.scene.takes_auth_code() {
        return (
            p.created_ms + config.barcode_deadline.as_millis() as i64,
            Expiry::Cancel,
        );
    }
    let expires_in = p.expires_in().unwrap_or(config.pending_expiry);
    (p.created_ms + expires_in.as_millis() as i64, Expiry::Close)
}

/// When to ask again after `checks` inconclusive queries: the back-off
/// step, but never later than a deadline still ahead.
pub fn next_check(config: &SweeperConfig, checks: i64, now: i64, deadline: Option<i64>) -> i64 {
    let step = (checks.max(0) as usize).min(config.backoff.len().saturating_sub(1));
    let after = config
        .backoff
        .get(step)
        .map_or(60_000, |d| d.as_millis() as i64);
    let next = now + after;
    match deadline {
        Some(d) if d > now => next.min(d),
        _ => next,
    }
}

pub async fn sweep_once(
    payments: &Payments,
    config: &SweeperConfig,
) -> anyhow::Result<SweepReport> {
    let mut report = SweepReport::default();
    let min_age = config.min_age.as_millis() as i64;
    let registry = payments.registry();
    let lease = lease(payments.host.limits().call_timeout).as_millis() as i64;
    for due in payments
        .store()
        .claim_due_payments(min_age, BATCH, lease)
        .await?
    {
        let Some(tenant) = registry.tenant(&due.record.tenant_id) else {
            continue;
        };
        sweep_payment(payments, tenant, due, config, &mut report).await?;
    }
    for due in payments
        .store()
        .claim_due_refunds(min_age, BATCH, lease)
        .await?
    {
        let Some(tenant) = registry.tenant(&due.record.tenant_id) else {
            continue;
        };
        sweep_refund(payments, tenant, due, config, &mut report).await?;
    }
    report.card_follow_ups = payments.finish_card_follow_ups().await?;
    report.refund_credits = payments.finish_refund_credits(&registry).await?;
    // Holds first: value a failed payment held goes back to its card
    // before the card's expiry settles what is on it.
    let ledger = payments.ledger();
    report.holds = stranded_holds::sweep(ledger, &registry).await?;
    report.cards_expired = card_expiry::sweep(ledger, &registry).await?;
    Ok(report)
}

async fn sweep_payment(
    payments: &Payments,
    tenant: &Tenant,
    due: DuePayment,
    config: &SweeperConfig,
    report: &mut SweepReport,
) -> anyhow::Result<()> {
    let DuePayment { record, checks } = due;
    let id = record.id.clone();
    let (deadline, expiry) = deadline(&record, config);
    report.payments_checked += 1;
    let after = match payments.query_and_settle(tenant, record.clone()).await {
        Ok(after) => after,
        Err(e) => {
            tracing::debug!(payment_id = %id, error = %e, "sweeper query did not settle the payment");
            record
        }
    };
    let mut status = after.status;
    let mut cancelling = after.cancelling();
    if status == PaymentStatus::Succeeded && cancelling {
        // Paid, and a cancel whose outcome is unknown: the merchant asked
        // for a reversal, and reversals are idempotent at the channel, so
        // ask for it again until the channel's answer settles it.
        report.cancels_resumed += 1;
        match payments.cancel(tenant, &id).await {
            Ok(view) => {
                status = view.status;
                cancelling = status == PaymentStatus::Succeeded;
            }
            Err(e) => {
                tracing::warn!(payment_id = %id, error = %e, "sweeper could not settle a cancel whose outcome was unknown");
            }
        }
    }
    let now = payments.clock().now_millis();
    let past_deadline = now >= deadline;
    if past_deadline {
        let ended = match expiry {
            Expiry::Cancel if status.needs_query() => Some(payments.cancel(tenant, &id).await),
            Expiry::Close if status == PaymentStatus::Pending => {
                Some(payments.close(tenant, &id).await)
            }
            _ => None,
        };
        match ended {
            Some(Ok(view)) => {
                status = view.status;
                match status {
                    PaymentStatus::Cancelled => report.cancelled += 1,
                    PaymentStatus::Closed => report.closed += 1,
                    _ => {}
                }
                tracing::info!(payment_id = %id, ?expiry, %status, "sweeper ended an unpaid payment at its deadline");
            }
            Some(Err(e)) => {
                tracing::warn!(payment_id = %id, ?expiry, error = %e, "sweeper could not end an unpaid payment at its deadline");
            }
            None => {}
        }
    }
    if status.is_final() && !(status == PaymentStatus::Succeeded && cancelling) {
        report.payments_settled += 1;
        return Ok(());
    }
    let next = next_check(config, checks, now, (!past_deadline).then_some(deadline));
    payments
        .store()
        .schedule_payment_check(&tenant.config.id, &id, checks + 1, next)
        .await?;
    Ok(())
}

async fn sweep_refund(
    payments: &Payments,
    tenant: &Tenant,
    due: DueRefund,
    config: &SweeperConfig,
    report: &mut SweepReport,
) -> anyhow::Result<()> {
    let DueRefund { record, checks } = due;
    let id = record.id.clone();
    report.refunds_checked += 1;
    let status = match payments
        .query_refund_and_settle(tenant, record.clone())
        .await
    {
        Ok(after) => after.status,
        Err(e) => {
            tracing::debug!(refund_id = %id, error = %e, "sweeper query did not settle the refund");
            record.status
        }
    };
    if status.is_final() {
        report.refunds_settled += 1;
        return Ok(());
    }
    let next = next_check(config, checks, payments.clock().now_millis(), None);
    payments
        .store()
        .schedule_refund_check(&tenant.config.id, &id, checks + 1, next)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SweeperConfig {
        SweeperConfig {
            interval: Duration::from_secs(2),
            min_age: Duration::from_secs(1),
            backoff: [2, 5, 10].map(Duration::from_secs).to_vec(),
            barcode_deadline: Duration::from_secs(60),
            pending_expiry: Duration::from_secs(7200),
        }
    }

    fn payment(scene: &str, request: &str) -> PaymentRecord {
        PaymentRecord {
            status: PaymentStatus::Pending,
            scene: scene.parse().expect("a scene"),
            request: request.into(),
            ..PaymentRecord::example()
        }
    }

    #[test]
    fn barcode_payments_are_cancelled_at_the_deadline_others_closed_at_expiry() {
        let c = config();
        assert_eq!(
            deadline(&payment("barcode", "{}"), &c),
            (1_060_000, Expiry::Cancel)
        );
        assert_eq!(
            deadline(&payment("face", "{}"), &c),
            (1_060_000, Expiry::Cancel)
        );
        assert_eq!(
            deadline(&payment("qrcode", r#"{"expires_in":900}"#), &c),
            (1_900_000, Expiry::Close)
        );
        assert_eq!(
            deadline(&payment("jsapi", r#"{"expires_in":null}"#), &c),
            (1_000_000 + 7_200_000, Expiry::Close),
            "no expires_in: the configured pending expiry"
        );
    }

    #[test]
    fn checks_back_off_but_never_past_a_deadline_ahead() {
        let c = config();
        assert_eq!(next_check(&c, 0, 0, None), 2_000);
        assert_eq!(next_check(&c, 1, 0, None), 5_000);
        assert_eq!(next_check(&c, 2, 0, None), 10_000);
        assert_eq!(next_check(&c, 9, 0, None), 10_000, "the last step repeats");
        assert_eq!(
            next_check(&c, 9, 0, Some(3_000)),
            3_000,
            "wake up for the deadline"
        );
        assert_eq!(
            next_check(&c, 0, 5_000, Some(3_000)),
            7_000,
            "a passed deadline does not pull"
        );
    }
}
