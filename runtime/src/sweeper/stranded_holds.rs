//! The sweeper's share of holds a crash left `held` behind a final
//! payment: each captured or released by the ledger
//! (`ledger::stranded_holds`).

use crate::ledger::{Ledger, Resolution, StrandedError};
use crate::registry::Registry;

/// Holds looked at per pass, oldest first.
const BATCH: i64 = 50;

/// Holds settled in one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HoldsReport {
    pub captured: usize,
    pub released: usize,
}

pub async fn sweep(ledger: &Ledger, registry: &Registry) -> anyhow::Result<HoldsReport> {
    let mut report = HoldsReport::default();
    for stranded in ledger.stranded_holds(BATCH).await? {
        let hold = &stranded.hold;
        let tenant = registry.tenant(&hold.tenant_id).map(|t| &t.config);
        match ledger.resolve_stranded(tenant, &stranded).await {
            Ok(Ok(resolution)) => {
                tracing::info!(hold_id = %hold.id, payment_id = %hold.payment_id, ?resolution, payment_status = ?stranded.payment_status, "settled a hold left held behind a final payment");
                match resolution {
                    Resolution::Capture => report.captured += 1,
                    Resolution::Release => report.released += 1,
                }
            }
            // Settled meanwhile by the payment's own call.
            Ok(Err(refusal)) => {
                tracing::debug!(hold_id = %hold.id, ?refusal, "a stranded hold was settled meanwhile");
            }
            Err(e @ (StrandedError::Plan(_) | StrandedError::Refused(_))) => {
                tracing::warn!(hold_id = %hold.id, error = %e, "cannot settle a stranded hold");
            }
            Err(StrandedError::Store(e)) => return Err(e.into()),
        }
    }
    Ok(report)
}
