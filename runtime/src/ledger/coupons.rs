//! The coupon API's operations: issue a coupon of one of the tenant's
//! coupon programmes, and read one by its code (its id, `cpn_…`).
//!
//! A coupon is a card that holds the most it can take off — the
//! programme's `amount_off`, or a percentage's `max_discount` — given by
//! the tenant's promotion when it is issued, never from nothing. Paying
//! with it (its discount on an order) is the card plugin's rules and the
//! session's (`session`): used once, given back only by a whole refund.

use super::cards::{CardError, inserted};
use super::program::{ProgramUnits, program_of};
use super::{Ledger, Program};
use crate::config::TenantConfig;
use crate::domain::{CardProgramId, ProgramKind, TenantId};
use crate::store::{CardRecord, NewCard};
use paycore_core::ledger::{CardId, Funding, Move};

#[derive(Debug, Clone)]
pub struct IssueCoupon {
    pub program: CardProgramId,
    /// The member it is given to, who may then pay with it in their own
    /// session (jsapi); without one it pays by its payment code only.
    pub holder: Option<String>,
    /// Makes a retried issue find the coupon the first one made.
    pub idempotency_key: Option<String>,
    /// The request's fingerprint: the same key with another request is a
    /// conflict.
    pub fingerprint: String,
}

impl Ledger {
    /// Issues a coupon funded by the tenant's promotion, or finds the one
    /// an identical earlier request issued (false).
    pub async fn issue_coupon(
        &self,
        tenant: &TenantConfig,
        request: IssueCoupon,
    ) -> Result<(CardRecord, bool), CardError> {
        let program = program_of(tenant, &request.program)?;
        let terms = match (&program.kind, &program.coupon) {
            (ProgramKind::Coupon, Some(terms)) => terms,
            _ => return Err(CardError::NotCouponProgram(program.id.to_string())),
        };
        let card = CardId::coupon();
        let value = Move::issue(&card, terms.discount.value(), Funding::Promotion, None)
            .map_err(|e| CardError::Amount(e.to_string()))?;
        let now_ms = self.store.clock().now_millis();
        let new = NewCard {
            id: card,
            tenant_id: tenant.id.clone(),
            program_id: program.id.to_string(),
            kind: program.kind.to_string(),
            unit: program.ledger_unit(),
            holder: request.holder,
            named: false,
            expires_ms: program
                .validity_days
                .map(|days| now_ms + i64::from(days) * 86_400_000),
            issue_key: request
                .idempotency_key
                .unwrap_or_else(|| crate::domain::new_id("issue")),
            issue_hash: request.fingerprint,
            first_value: Some(value),
        };
        inserted(self.store.insert_card(new).await?)
    }

    /// One of the tenant's coupons by its code, and its programme as the
    /// tenant's config has it now (`None` if the programme was removed).
    /// Another card's id is no coupon: not found.
    pub async fn coupon(
        &self,
        tenant: &TenantConfig,
        code: &CardId,
    ) -> Result<(CardRecord, Option<Program>), CardError> {
        let record = self.coupon_record(&tenant.id, code).await?;
        let program = program_of(tenant, &record.program_id).ok().cloned();
        Ok((record, program))
    }

    async fn coupon_record(
        &self,
        tenant: &TenantId,
        code: &CardId,
    ) -> Result<CardRecord, CardError> {
        let record = self.card(tenant, code).await?;
        if record.kind != ProgramKind::Coupon.as_str() {
            return Err(CardError::NotFound);
        }
        Ok(record)
    }
}
