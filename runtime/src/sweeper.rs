//! Converges open payments and refunds: anything still `pending`,
//! `processing` or `unknown` after a while is queried, so a lost callback or
//! a timed-out pay call never leaves money in limbo.

use crate::config::SweeperConfig;
use crate::payments::Payments;
use std::sync::Arc;
use tokio::sync::watch;

/// At most this many payments per pass, oldest first.
const BATCH: i64 = 50;

pub async fn run(payments: Arc<Payments>, config: SweeperConfig, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(config.interval) => {}
        }
        if let Err(e) = sweep_once(&payments, &config).await {
            tracing::warn!(error = %e, "sweeper pass failed");
        }
    }
}

pub async fn sweep_once(payments: &Payments, config: &SweeperConfig) -> anyhow::Result<()> {
    let min_age = config.min_age.as_millis() as i64;
    let registry = payments.registry();
    for record in payments.store().open_payments(min_age, BATCH).await? {
        let Some(tenant) = registry.tenant(&record.tenant_id) else {
            continue;
        };
        let id = record.id.clone();
        if let Err(e) = payments.query_and_settle(tenant, record).await {
            tracing::debug!(payment_id = %id, error = %e, "sweeper query did not settle the payment");
        }
    }
    for record in payments.store().open_refunds(min_age, BATCH).await? {
        let Some(tenant) = registry.tenant(&record.tenant_id) else {
            continue;
        };
        let id = record.id.clone();
        if let Err(e) = payments.query_refund_and_settle(tenant, record).await {
            tracing::debug!(refund_id = %id, error = %e, "sweeper query did not settle the refund");
        }
    }
    Ok(())
}
