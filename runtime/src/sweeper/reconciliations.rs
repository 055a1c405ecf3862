//! The sweeper's share of reconciliation: each channel with a
//! `reconcile_at` has yesterday (in its tenant's time zone) reconciled
//! once that local time has passed, and again later if the run failed
//! (the statement not out yet, the channel unreachable). A run goes in a
//! task of its own, so a long statement never holds up the payments'
//! sweep; the day's claim keeps two instances from running it at once.

use crate::payments::Payments;
use crate::store::ReconciliationRecord;
use std::sync::Arc;

/// How long a failed scheduled run waits before the next try.
const RETRY_AFTER_MS: i64 = 30 * 60 * 1000;

/// Starts the runs due now; how many it started.
pub async fn start_due(payments: &Arc<Payments>) -> anyhow::Result<usize> {
    let registry = payments.registry();
    let now = payments.clock().now();
    let mut started = 0;
    for tenant in registry.tenants() {
        let local = tenant.config.timezone.to_datetime(now);
        let Ok(yesterday) = local.date().yesterday() else {
            continue;
        };
        let day = yesterday.to_string();
        for channel in &tenant.channels {
            let Some(at) = channel.reconcile_at() else {
                continue;
            };
            if local.time() < at {
                continue;
            }
            let last = payments
                .store()
                .reconciliation_of_day(&tenant.config.id, &channel.id, &day)
                .await?;
            if !due(last.as_ref(), payments.clock().now_millis()) {
                continue;
            }
            let (payments, tenant_id, channel_id, day) = (
                payments.clone(),
                tenant.config.id.clone(),
                channel.id.clone(),
                day.clone(),
            );
            started += 1;
            tokio::spawn(async move {
                let registry = payments.registry();
                let Some(tenant) = registry.tenant(&tenant_id) else {
                    return;
                };
                match crate::reconcile::run(&payments, tenant, &channel_id, &day).await {
                    Ok(run) => {
                        tracing::info!(tenant = %tenant_id, channel = %channel_id, %day, status = %run.status, open_differences = run.open_differences, "scheduled reconciliation")
                    }
                    Err(e) => {
                        tracing::warn!(tenant = %tenant_id, channel = %channel_id, %day, error = %e, "scheduled reconciliation did not run")
                    }
                }
            });
        }
    }
    Ok(started)
}

/// Whether a day whose last run is `last` should run now: never run, or
/// failed long enough ago. A completed day is left alone (a person re-runs
/// it by the API), and a running one to its claim.
fn due(last: Option<&ReconciliationRecord>, now_ms: i64) -> bool {
    let Some(last) = last else {
        return true;
    };
    let updated_ms = last
        .updated_at
        .parse::<jiff::Timestamp>()
        .map_or(0, |t| t.as_millisecond());
    last.status == "failed" && now_ms - updated_ms >= RETRY_AFTER_MS
}
