//! Reconciliation runs (对账, docs/reconciliation.md): a tenant's channel
//! and business day, its statement read through the plugin, matched against
//! paycore's records by `paycore_core::reconcile`, each difference that a
//! query can settle re-checked at the channel and settled through the state
//! machine, the rest left open with both sides for a person.
//!
//! One run per day at a time (the day's row is claimed, as the sweeper
//! claims its work); running a day again replaces its findings in place, so
//! it is idempotent: what the channel's answers settled stays settled, and a
//! difference raises its webhook only the first time it is found.

mod findings;
mod view;

use crate::domain::TenantId;
use crate::payments::{Payments, Statement};
use crate::registry::Tenant;
use crate::store::{
    ComparedPayment, ComparedRefund, ReconciliationItem, ReconciliationRecord, StoreError,
};
use paycore_core::reconcile::{
    self as matching, BusinessDay, OurPayment, OurRefund, PaycoreSide, Recheck, Reconciliation,
    Records,
};
use std::collections::BTreeSet;

pub use findings::{item_key, parse_item_key};
pub use view::{
    ChannelLine, CurrencyTotals, DifferenceView, KindFigures, PaycoreRecord, PaymentFacts,
    RefundFacts, RunSummary,
};

/// How long a run may hold its day before another instance may take over.
const CLAIM_MS: i64 = 15 * 60 * 1000;

/// The most differences one run asks the channel about; the rest stay
/// open for the next run (each query is a call to the channel).
const MAX_RECHECKS: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the day is being reconciled by another run")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, ReconcileError>;

/// Reconciles `channel`'s business day `date` (`YYYY-MM-DD`) for the
/// tenant: the run as it ended, `failed` with its reason when the
/// statement could not be read or does not add up (nothing changed then).
pub async fn run(
    payments: &Payments,
    tenant: &Tenant,
    channel: &str,
    date: &str,
) -> Result<ReconciliationRecord> {
    if tenant.channel(channel).is_none() {
        return Err(ReconcileError::Invalid {
            field: "channel",
            message: format!("the tenant has no channel `{channel}`"),
        });
    }
    // The date's form is checked before anything is claimed; its window
    // needs the statement's time zone.
    matching::business_day(date, "UTC").map_err(|e| ReconcileError::Invalid {
        field: "date",
        message: e.to_string(),
    })?;
    let store = payments.store();
    let tenant_id = &tenant.config.id;
    let run = store
        .claim_reconciliation(tenant_id, channel, date, "", CLAIM_MS)
        .await?
        .ok_or(ReconcileError::Busy)?;
    let statement = match payments.statement(tenant, channel, date).await {
        Ok(statement) => statement,
        Err(e) => return Ok(store.fail_reconciliation(&run, &e.to_string()).await?),
    };
    match reconcile_statement(payments, tenant, &run, &statement).await {
        Ok(finished) => Ok(finished),
        Err(Refused(why)) => Ok(store.fail_reconciliation(&run, &why).await?),
        Err(Failed(e)) => {
            // A database failure mid-run: give the day back at once, with
            // a reason fit to show (the cause is logged, never shown).
            tracing::error!(reconciliation = %run.id, error = %e, "reconciliation run failed");
            let _ = store
                .fail_reconciliation(&run, "the database failed during the run; run it again")
                .await;
            Err(e.into())
        }
    }
}

/// Why a run stopped.
enum Stop {
    /// The statement cannot be believed: the run fails with this reason.
    Refused(String),
    Failed(StoreError),
}
use Stop::{Failed, Refused};

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Failed(e)
    }
}

async fn reconcile_statement(
    payments: &Payments,
    tenant: &Tenant,
    run: &ReconciliationRecord,
    statement: &Statement,
) -> std::result::Result<ReconciliationRecord, Stop> {
    let day = matching::business_day(&run.business_day, &statement.time_zone)
        .map_err(|e| Refused(format!("the statement's time zone: {e}")))?;
    matching::check_stated_totals(&statement.lines, &statement.totals)
        .map_err(|e| Refused(format!("the statement does not add up: {e}")))?;
    let first = compare(payments, tenant, run, &day, statement).await?;
    // Ask the channel about what a query can settle; the state machine
    // applies each answer (events, webhooks), then the day is compared
    // again with paycore's records as they now stand.
    let mut rechecks: Vec<&Recheck> = Vec::new();
    for recheck in first
        .differences
        .iter()
        .filter_map(|d| d.recheck.as_ref())
        .chain(first.in_flight.iter().map(|f| &f.recheck))
    {
        if !rechecks.contains(&recheck) && rechecks.len() < MAX_RECHECKS {
            rechecks.push(recheck);
        }
    }
    let settled = if rechecks.is_empty() {
        first.clone()
    } else {
        for recheck in rechecks {
            recheck_at_channel(payments, tenant, recheck).await;
        }
        compare(payments, tenant, run, &day, statement).await?
    };
    let previous = payments
        .store()
        .reconciliation_differences(&tenant.config.id, &run.id)
        .await?;
    let now = payments.clock().now_rfc3339();
    let found = findings::items(run, &first, &settled, &now);
    let webhooks = findings::new_discrepancy_webhooks(tenant, run, &found, &previous, &now);
    let outcome = findings::outcome(&settled, &found, &statement.time_zone);
    findings::record_metrics(tenant, run, &found);
    Ok(payments
        .store()
        .finish_reconciliation(run, &outcome, &found, &webhooks)
        .await?)
}

/// One comparison of the statement with paycore's records as they are.
async fn compare(
    payments: &Payments,
    tenant: &Tenant,
    run: &ReconciliationRecord,
    day: &BusinessDay,
    statement: &Statement,
) -> std::result::Result<Reconciliation, Stop> {
    let store = payments.store();
    let tenant_id = &tenant.config.id;
    let order_nos: Vec<String> = statement
        .lines
        .iter()
        .map(|l| l.merchant_order_no.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let refund_nos: Vec<String> = statement
        .lines
        .iter()
        .filter_map(|l| l.refund_no.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let channel = run.channel_id.as_str();
    let named = records(
        store.compared_payments(tenant_id, &order_nos).await?,
        store.compared_refunds(tenant_id, &refund_nos).await?,
        channel,
    );
    let in_day = records(
        store
            .payments_moved_between(tenant_id, channel, day.start_ms, day.end_ms)
            .await?,
        store
            .refunds_settled_between(tenant_id, channel, day.start_ms, day.end_ms)
            .await?,
        channel,
    );
    let ids: Vec<_> = in_day
        .payments
        .iter()
        .map(|p| p.payment_id.clone())
        .chain(in_day.refunds.iter().map(|r| r.payment_id.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let matched_elsewhere = store
        .findings_elsewhere(tenant_id, &run.id, &ids)
        .await?
        .iter()
        .filter(|item| item.state != "open")
        .filter_map(|item| parse_item_key(&item.item_key))
        .collect();
    let side = PaycoreSide {
        named,
        in_day,
        matched_elsewhere,
    };
    matching::reconcile(day, &statement.lines, &side)
        .map_err(|e| Refused(format!("the day cannot be matched: {e}")))
}

/// paycore's records at this channel, as the matching reads them. A
/// payment at another channel is not this statement's: for it, paycore
/// has nothing. (A stored currency was checked when it came in, so the
/// parse below never drops a row in practice.)
fn records(payments: Vec<ComparedPayment>, refunds: Vec<ComparedRefund>, channel: &str) -> Records {
    Records {
        payments: payments
            .into_iter()
            .filter(|p| p.channel_id == channel)
            .filter_map(|p| {
                Some(OurPayment {
                    currency: crate::money::Currency::parse(&p.currency).ok()?,
                    payment_id: p.id,
                    merchant_order_no: p.merchant_order_no,
                    channel_order_no: p.channel_order_no,
                    amount: p.amount,
                    status: p.status,
                    paid_ms: p.paid_ms,
                    cancelled_ms: p.cancelled_ms,
                })
            })
            .collect(),
        refunds: refunds
            .into_iter()
            .filter(|r| r.channel_id == channel)
            .filter_map(|r| {
                Some(OurRefund {
                    currency: crate::money::Currency::parse(&r.currency).ok()?,
                    refund_id: r.id,
                    payment_id: r.payment_id,
                    merchant_order_no: r.merchant_order_no,
                    merchant_refund_no: r.merchant_refund_no,
                    amount: r.amount,
                    status: r.status,
                    settled_ms: r.settled_ms,
                })
            })
            .collect(),
    }
}

/// Asks the channel where a payment or refund stands and lets the state
/// machine apply the answer. A query that fails changes nothing: the
/// difference stays open, and the next run asks again.
async fn recheck_at_channel(payments: &Payments, tenant: &Tenant, recheck: &Recheck) {
    let outcome = match recheck {
        Recheck::QueryPayment(id) => payments.sync(tenant, id).await.map(|_| ()),
        Recheck::QueryRefund(id) => payments.sync_refund(tenant, id).await.map(|_| ()),
    };
    if let Err(e) = outcome {
        tracing::warn!(tenant = %tenant.config.id, ?recheck, error = %e, "reconciliation: the channel could not settle a difference");
    }
}

/// A run of the tenant's, with its differences.
pub async fn get(
    payments: &Payments,
    tenant: &TenantId,
    id: &str,
) -> Result<(ReconciliationRecord, Vec<ReconciliationItem>)> {
    let store = payments.store();
    let run = store
        .reconciliation(tenant, id)
        .await?
        .ok_or(ReconcileError::NotFound)?;
    let differences = store.reconciliation_differences(tenant, id).await?;
    Ok((run, differences))
}
