//! Closed-loop value the host keeps: member stored-value cards, gift cards,
//! vouchers, punch cards and coupons, on the double-entry ledger whose
//! vocabulary is `paycore_core::ledger` and whose rows are `store`'s.
//!
//! Four ways in: the card and coupon APIs (`cards`: issue, look up, pay
//! codes, freeze; `top_ups`; `coupons`: issue a coupon, read it by its
//! code; `reactivation`; the finance `report`), a card programme's plugin
//! during one of its calls (`session`: what the
//! `paycore:channel/ledger@1.1.0` import reaches, scoped to the calling
//! channel's tenant, its programmes and the payment or refund being
//! called), payments (a top-up credited when its payment succeeds, taken
//! back by its refund) and the sweeper (`expiry` at the end of a card's
//! validity, `stranded_holds` a crash left behind). Every way, value moves
//! only as a planned `Move`, applied by the store in one transaction,
//! idempotent by its key.

mod cards;
mod codes;
mod coupons;
mod expiry;
mod program;
mod reactivation;
mod report;
mod seen;
mod session;
mod stranded_holds;
mod tenders;
mod top_ups;

pub use cards::{CardError, FundedBy, IssueCard};
pub use codes::{CODE_LENGTH, CODE_PREFIX, CODE_VALIDITY_MS, PaymentCode, looks_like_card_code};
pub use coupons::IssueCoupon;
pub use expiry::{ExpiryOutcome, plan_expiry};
pub use program::{Program, ProgramUnits};
pub use report::{MAX_REPORT_DAYS, PeriodError, ProgramFigures, ReportPeriod};
pub use session::{CardHoldView, CardView, LedgerError, Scope, Session};
pub use stranded_holds::{Resolution, StrandedError, resolution};
pub use tenders::{CheckedTender, OrderFacts, TenderError};
pub use top_ups::{TopUpError, TopUpFinish, TopUpReversal, has_stored_value};

pub use paycore_core::ledger::{CardId, CardStatus, HoldId, HoldStatus};

use crate::store::Store;

/// The ledger over one store.
#[derive(Clone)]
pub struct Ledger {
    store: Store,
}

impl Ledger {
    pub fn new(store: Store) -> Self {
        Ledger { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
