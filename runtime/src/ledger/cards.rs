//! The card API's operations: issue a card of one of the tenant's
//! programmes (its first value funded by a payment or by the tenant's
//! promotion, never from nothing), read it, list a holder's cards, its
//! postings, a fresh payment code, freeze and unfreeze.

use super::program::{ProgramUnits, program_of};
use super::{Ledger, PaymentCode, Program};
use crate::config::TenantConfig;
use crate::domain::{CardProgramId, PaymentId, PaymentStatus, ProgramKind, TenantId};
use crate::store::{CardInsert, CardRecord, MoveRefusal, NewCard, PostingRecord, StoreError};
use paycore_core::ledger::{CardId, CardStatus, Funding, Move};

/// Where a new card's first value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FundedBy {
    /// The tenant gives it (a promotional gift card, a welcome balance).
    Promotion,
    /// A succeeded payment of the tenant bought it, for exactly its amount.
    Payment(PaymentId),
}

#[derive(Debug, Clone)]
pub struct IssueCard {
    pub program: CardProgramId,
    pub holder: Option<String>,
    /// The face value (gift, voucher) or opening balance (stored value) in
    /// minor units; a punch card gets its programme's uses.
    pub amount: Option<i64>,
    pub funded_by: Option<FundedBy>,
    /// Makes a retried issue find the card the first one made.
    pub idempotency_key: Option<String>,
    /// The request's fingerprint: the same key with another request is a
    /// conflict.
    pub fingerprint: String,
}

/// Why an operation on cards was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("no card programme `{0}` in this tenant's config")]
    UnknownProgram(String),
    #[error("coupons are issued by POST /v1/coupons")]
    CouponProgram,
    #[error("programme `{0}` is not a coupon programme: its cards are issued by POST /v1/cards")]
    NotCouponProgram(String),
    #[error("no such card")]
    NotFound,
    #[error("{0}")]
    Amount(String),
    #[error("{0}")]
    Currency(String),
    #[error("programme `{0}` issues named cards: give the holder")]
    HolderRequired(String),
    #[error("{0}")]
    Funding(String),
    #[error("the Idempotency-Key was used with another request")]
    KeyConflict,
    #[error("this merchant_order_no was used before for another top-up")]
    OrderNoConflict,
    #[error("the card is {0}")]
    NotActive(CardStatus),
    #[error("the card is {0}, not dormant: there is nothing to reactivate")]
    NotDormant(CardStatus),
    #[error("nothing is dormant on the card: its value is held for an open payment")]
    NothingDormant,
    #[error("the card's programme `{0}` is no longer in this tenant's config")]
    ProgramGone(String),
    #[error("the card kept changing; try again")]
    Busy,
    #[error("database error")]
    Store(#[from] StoreError),
}

impl Ledger {
    /// Issues a card, or finds the one an identical earlier request issued.
    pub async fn issue_card(
        &self,
        tenant: &TenantConfig,
        request: IssueCard,
    ) -> Result<(CardRecord, bool), CardError> {
        let program = program_of(tenant, &request.program)?;
        if program.kind == ProgramKind::Coupon {
            return Err(CardError::CouponProgram);
        }
        if program.named && request.holder.is_none() {
            return Err(CardError::HolderRequired(program.id.to_string()));
        }
        let value = first_value(program, request.amount)?;
        let card = CardId::generate();
        let first = match (value, &request.funded_by) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(CardError::Funding(format!(
                    "a {} card is issued empty: its value comes from top-ups",
                    program.kind
                )));
            }
            (Some(_), None) => {
                return Err(CardError::Funding(
                    "say what pays for the card's value: a payment or the promotion".into(),
                ));
            }
            (Some(value), Some(FundedBy::Promotion)) => Some(
                Move::issue(&card, value, Funding::Promotion, program.max_balance)
                    .map_err(|e| CardError::Amount(e.to_string()))?,
            ),
            (Some(value), Some(FundedBy::Payment(payment))) => {
                self.check_funding_payment(&tenant.id, program, request.amount, payment)
                    .await?;
                Some(
                    Move::sale(&card, payment, value, program.max_balance)
                        .map_err(|e| CardError::Amount(e.to_string()))?,
                )
            }
        };
        let now_ms = self.store.clock().now_millis();
        let new = NewCard {
            id: card,
            tenant_id: tenant.id.clone(),
            program_id: program.id.to_string(),
            kind: program.kind.to_string(),
            unit: program.ledger_unit(),
            holder: request.holder,
            named: program.named,
            expires_ms: program
                .validity_days
                .map(|days| now_ms + i64::from(days) * 86_400_000),
            issue_key: request
                .idempotency_key
                .unwrap_or_else(|| crate::domain::new_id("issue")),
            issue_hash: request.fingerprint,
            first_value: first,
        };
        inserted(self.store.insert_card(new).await?)
    }

    async fn check_funding_payment(
        &self,
        tenant: &TenantId,
        program: &Program,
        amount: Option<i64>,
        payment: &PaymentId,
    ) -> Result<(), CardError> {
        let record = self
            .store
            .payment(tenant, payment)
            .await?
            .ok_or_else(|| CardError::Funding(format!("no payment `{payment}`")))?;
        if record.status != PaymentStatus::Succeeded {
            return Err(CardError::Funding(format!(
                "payment `{payment}` is {}, not succeeded",
                record.status
            )));
        }
        if record.currency != program.currency {
            return Err(CardError::Funding(format!(
                "payment `{payment}` is in {}, the programme in {}",
                record.currency, program.currency
            )));
        }
        // A punch card's price is the payment's; money is sold at face value.
        if let Some(amount) = amount
            && record.amount != amount
        {
            return Err(CardError::Funding(format!(
                "payment `{payment}` took {}, the card's value is {amount}",
                record.amount
            )));
        }
        Ok(())
    }

    pub async fn card(&self, tenant: &TenantId, card: &CardId) -> Result<CardRecord, CardError> {
        self.store
            .card(tenant, card)
            .await?
            .ok_or(CardError::NotFound)
    }

    pub async fn cards_of_holder(
        &self,
        tenant: &TenantId,
        holder: &str,
        limit: i64,
    ) -> Result<Vec<CardRecord>, CardError> {
        Ok(self.store.cards_of_holder(tenant, holder, limit).await?)
    }

    /// The card's postings after `after` (a posting's `seq`), at most `limit`.
    pub async fn transactions(
        &self,
        tenant: &TenantId,
        card: &CardId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<PostingRecord>, CardError> {
        self.card(tenant, card).await?;
        Ok(self.store.card_postings(tenant, card, after, limit).await?)
    }

    /// A fresh dynamic payment code for an active card.
    pub async fn payment_code(
        &self,
        tenant: &TenantId,
        card: &CardId,
    ) -> Result<PaymentCode, CardError> {
        let record = self.card(tenant, card).await?;
        if record.status != CardStatus::Active {
            return Err(CardError::NotActive(record.status));
        }
        Ok(self.new_payment_code(tenant, card).await?)
    }

    /// Freezes an active card (or leaves a frozen one so): no value leaves
    /// it until it is unfrozen. Value can still come back to it.
    pub async fn freeze(&self, tenant: &TenantId, card: &CardId) -> Result<CardRecord, CardError> {
        self.switch(tenant, card, CardStatus::Active, CardStatus::Frozen)
            .await
    }

    pub async fn unfreeze(
        &self,
        tenant: &TenantId,
        card: &CardId,
    ) -> Result<CardRecord, CardError> {
        self.switch(tenant, card, CardStatus::Frozen, CardStatus::Active)
            .await
    }

    async fn switch(
        &self,
        tenant: &TenantId,
        card: &CardId,
        from: CardStatus,
        to: CardStatus,
    ) -> Result<CardRecord, CardError> {
        let record = self.card(tenant, card).await?;
        if record.status == to {
            return Ok(record);
        }
        if !self.store.set_card_status(tenant, card, from, to).await? {
            let now = self.card(tenant, card).await?;
            return if now.status == to {
                Ok(now)
            } else {
                Err(CardError::NotActive(now.status))
            };
        }
        self.card(tenant, card).await
    }
}

/// The card an insert made (true) or found made by an identical earlier
/// request (false), or why it refused.
pub(super) fn inserted(outcome: CardInsert) -> Result<(CardRecord, bool), CardError> {
    match outcome {
        CardInsert::Created(record) => Ok((record, true)),
        CardInsert::Existing {
            record,
            same_request: true,
        } => Ok((record, false)),
        CardInsert::Existing { .. } => Err(CardError::KeyConflict),
        CardInsert::Refused(MoveRefusal::KeyReused) => Err(CardError::Funding(
            "that payment already paid for another card".into(),
        )),
        CardInsert::Refused(MoveRefusal::OverCap { cap, .. }) => Err(CardError::Amount(format!(
            "above the programme's maximum balance of {cap}"
        ))),
        CardInsert::Refused(other) => Err(CardError::Funding(format!("{other:?}"))),
    }
}

/// The value a new card of `program` starts with, in its unit.
fn first_value(program: &Program, amount: Option<i64>) -> Result<Option<i64>, CardError> {
    match program.kind {
        ProgramKind::Punch => match amount {
            Some(_) => Err(CardError::Amount(
                "a punch card's value is its programme's uses; give no amount".into(),
            )),
            None => Ok(program.uses.map(i64::from)),
        },
        ProgramKind::StoredValue => Ok(amount),
        ProgramKind::Gift | ProgramKind::Voucher => {
            let amount = amount.ok_or_else(|| {
                CardError::Amount(format!("a {} card needs its face value", program.kind))
            })?;
            if !program.face_values.is_empty() && !program.face_values.contains(&amount) {
                return Err(CardError::Amount(format!(
                    "programme `{}` issues only the face values {:?}",
                    program.id, program.face_values
                )));
            }
            Ok(Some(amount))
        }
        ProgramKind::Coupon => Err(CardError::CouponProgram),
    }
    .and_then(|value| match value {
        Some(v) if v <= 0 => Err(CardError::Amount("must be above zero".into())),
        Some(v) if program.max_balance.is_some_and(|cap| v > cap) => {
            Err(CardError::Amount(format!(
                "above the programme's maximum balance of {}",
                program.max_balance.unwrap_or_default()
            )))
        }
        other => Ok(other),
    })
}
