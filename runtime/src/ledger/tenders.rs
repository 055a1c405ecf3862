//! The ledger's side of a combined order (组合支付).
//!
//! Before anything is held, `check_tender` reads each coupon and card the
//! order presents — without binding a payment code — and refuses, naming
//! the tender (`tenders[1].amount`), what cannot pay: an unknown or
//! another member's card, one that is not active, a card in another
//! currency or counting uses, a balance below the tender, a voucher used in
//! part, a coupon whose terms the order does not meet. The programme's
//! plugin still decides when it holds; this only keeps a bad order from
//! moving any value.
//!
//! Once the order is final, `settle_order_holds` spends or gives back every
//! hold it made, through the same session a plugin's own capture and
//! release use (so a coupon is closed when spent, exactly as when a plugin
//! captures it).

use super::codes::{code_hash, looks_like_card_code};
use super::program::ProgramUnits;
use super::session::{CardHoldView, LedgerError, Scope, Session};
use super::stranded_holds::Resolution;
use super::{Ledger, Program};
use crate::config::TenantConfig;
use crate::domain::{PaymentId, ProgramKind};
use crate::store::{CardRecord, StoreError};
use paycore_core::ledger::{CardId, CardStatus, HoldStatus};
use paycore_core::request::{FieldError, Tender, tenders::tender_field};

/// The order a tender is checked against.
pub struct OrderFacts<'a> {
    pub currency: &'a crate::money::Currency,
    /// What a coupon takes its discount off: the goods' total if the order
    /// lists them, else its amount.
    pub total: i64,
    pub store_id: Option<&'a str>,
    /// The order's `payer.open_id`: the member paying.
    pub member: Option<&'a str>,
}

/// A coupon or card tender as checked: its card, programme and amount.
#[derive(Debug, Clone)]
pub struct CheckedTender {
    pub card: CardRecord,
    pub program: Program,
    /// A coupon's discount on the order; a card's, its stated amount (or
    /// `None` when it takes what remains).
    pub amount: Option<i64>,
}

/// Why a tender was refused before anything was held: a 422 naming it.
#[derive(Debug, thiserror::Error)]
pub enum TenderError {
    #[error("{}: {}", .0.field, .0.message)]
    Field(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refuse(position: usize, field: &str, message: impl Into<String>) -> TenderError {
    TenderError::Field(FieldError {
        field: tender_field(position, field),
        message: message.into(),
        missing: false,
    })
}

impl Ledger {
    /// Checks coupon or card tender `position` against `order`; the
    /// external tender is routing's to check.
    pub async fn check_tender(
        &self,
        tenant: &TenantConfig,
        position: usize,
        tender: &Tender,
        order: &OrderFacts<'_>,
    ) -> Result<CheckedTender, TenderError> {
        let (field, presented, by_code) = match tender {
            Tender::Coupon { code, .. } => ("code", code.as_str(), looks_like_card_code(code)),
            Tender::Card {
                auth_code: Some(code),
                ..
            } => ("auth_code", code.as_str(), true),
            Tender::Card {
                card_id: Some(id), ..
            } => ("card_id", id.as_str(), false),
            Tender::Card { .. } | Tender::External { .. } => {
                unreachable!(
                    "validated tenders: a card names itself one way; external tenders are routed"
                )
            }
        };
        let not_found = || {
            refuse(
                position,
                field,
                "no such card or coupon, or the code has expired or was used",
            )
        };
        let card = if by_code {
            let now_ms = self.store.clock().now_millis();
            match self
                .store
                .peek_payment_code(&tenant.id, &code_hash(&tenant.id, presented))
                .await?
            {
                Some((card, expires_ms, None)) if expires_ms > now_ms => card,
                _ => return Err(not_found()),
            }
        } else {
            CardId::from(presented)
        };
        let card = self
            .store
            .card(&tenant.id, &card)
            .await?
            .ok_or_else(not_found)?;
        let program = tenant
            .card_programs
            .iter()
            .find(|p| p.id == card.program_id.as_str())
            .cloned()
            .ok_or_else(not_found)?;
        // A card named by its id is its member's to spend, as the card
        // plugin has it: another member (or an order with none) learns
        // nothing of it, and a card given to nobody — a bearer coupon —
        // pays by its payment code only. A code is its bearer's own.
        if !by_code && (card.holder.is_none() || card.holder.as_deref() != order.member) {
            return Err(not_found());
        }
        let is_coupon = program.kind == ProgramKind::Coupon;
        match (tender, is_coupon) {
            (Tender::Coupon { .. }, false) => {
                return Err(refuse(
                    position,
                    field,
                    "names a card, not a coupon: make it a `card` tender",
                ));
            }
            (Tender::Card { .. }, true) => {
                return Err(refuse(
                    position,
                    field,
                    "names a coupon: make it a `coupon` tender",
                ));
            }
            _ => {}
        }
        let now_ms = self.store.clock().now_millis();
        if card.status != CardStatus::Active || card.expires_ms.is_some_and(|end| end <= now_ms) {
            let status = if card.status == CardStatus::Active {
                "expired".to_string()
            } else {
                card.status.to_string()
            };
            return Err(refuse(position, field, format!("the card is {status}")));
        }
        if program.service().is_some() {
            return Err(refuse(
                position,
                field,
                "is a punch card: it pays in uses of its service, not in money, so it cannot be a tender of a money order",
            ));
        }
        if &program.currency != order.currency {
            return Err(refuse(
                position,
                field,
                format!(
                    "holds {}, and the order is in {}: tenders never mix currencies",
                    program.currency, order.currency
                ),
            ));
        }
        let amount = match tender {
            Tender::Coupon { .. } => {
                Some(coupon_discount(self, tenant, position, &program, order)?)
            }
            Tender::Card { amount, .. } => {
                if let Some(amount) = amount {
                    card_covers(position, &card, &program, *amount)?;
                }
                *amount
            }
            Tender::External { .. } => unreachable!("checked above"),
        };
        Ok(CheckedTender {
            card,
            program,
            amount,
        })
    }

    /// Spends (`Capture`) or gives back (`Release`) every hold `payment`
    /// still has held. Idempotent: a hold already settled stays as it is.
    /// Returns the holds as they end.
    pub async fn settle_order_holds(
        &self,
        tenant: &TenantConfig,
        payment: &PaymentId,
        fate: Resolution,
    ) -> Result<Vec<CardHoldView>, LedgerError> {
        let holds = self.store.holds_for_payment(&tenant.id, payment).await?;
        let mut session = Session::for_host(
            self.clone(),
            tenant,
            Scope::Payment {
                payment: payment.clone(),
            },
        );
        let mut settled = Vec::with_capacity(holds.len());
        for hold in holds {
            let view = match (hold.status, fate) {
                (HoldStatus::Held, Resolution::Capture) => {
                    session.capture(hold.id.as_str()).await?
                }
                (HoldStatus::Held, Resolution::Release) => {
                    session.release(hold.id.as_str()).await?
                }
                _ => CardHoldView::from(&hold),
            };
            settled.push(view);
        }
        Ok(settled)
    }
}

impl Ledger {
    /// Credits `amount` back to `card`'s hold of `payment` for `refund`,
    /// through the same session a plugin's refund uses (a coupon is
    /// reopened if still valid, else its value goes back to the
    /// promotion). `whole`: the refund is everything the order had left,
    /// the only refund that gives a coupon back. Idempotent: the same
    /// credit again is the move already made.
    #[allow(clippy::too_many_arguments)]
    pub async fn credit_tender(
        &self,
        tenant: &TenantConfig,
        payment: &PaymentId,
        payment_amount: i64,
        refund: &crate::domain::RefundId,
        refund_amount: i64,
        whole: bool,
        card: &CardId,
        amount: i64,
    ) -> Result<CardHoldView, LedgerError> {
        let holds = self.store.holds_for_payment(&tenant.id, payment).await?;
        let hold = holds
            .iter()
            .find(|h| &h.card_id == card)
            .ok_or(LedgerError::NotFound)?;
        let mut session = Session::for_host(
            self.clone(),
            tenant,
            Scope::Refund {
                payment: payment.clone(),
                // To the session a refund of all that was left is a full
                // refund: what lets a coupon come back.
                payment_amount: if whole { refund_amount } else { payment_amount },
                refund: refund.clone(),
                amount: refund_amount,
            },
        );
        session.credit(hold.id.as_str(), amount).await
    }

    /// Whether a member's payment code, as a payer typed it, names one of
    /// the tenant's coupons (else a card, or nothing valid: the tender's
    /// check says which). Binds nothing.
    pub async fn code_names_coupon(
        &self,
        tenant: &crate::domain::TenantId,
        code: &str,
    ) -> Result<bool, StoreError> {
        let Some((card, _, _)) = self
            .store
            .peek_payment_code(tenant, &code_hash(tenant, code))
            .await?
        else {
            return Ok(false);
        };
        Ok(self
            .store
            .card(tenant, &card)
            .await?
            .is_some_and(|c| c.kind == ProgramKind::Coupon.as_str()))
    }

    /// A card tender that takes what remains, checked once that is known.
    pub fn check_card_amount(
        &self,
        position: usize,
        checked: &CheckedTender,
        amount: i64,
    ) -> Result<(), TenderError> {
        card_covers(position, &checked.card, &checked.program, amount)
    }
}

/// A card can pay `amount` from what it holds now; a voucher only in full.
fn card_covers(
    position: usize,
    card: &CardRecord,
    program: &Program,
    amount: i64,
) -> Result<(), TenderError> {
    if amount > card.balance {
        return Err(refuse(
            position,
            "amount",
            format!("is {amount}, and the card holds {}", card.balance),
        ));
    }
    if !program.partial_use && amount != card.balance {
        return Err(refuse(
            position,
            "amount",
            format!(
                "is {amount}: a {} is used once, in full ({})",
                program.kind, card.balance
            ),
        ));
    }
    Ok(())
}

/// The coupon's discount on the order, if the order meets its terms.
fn coupon_discount(
    ledger: &Ledger,
    tenant: &TenantConfig,
    position: usize,
    program: &Program,
    order: &OrderFacts<'_>,
) -> Result<i64, TenderError> {
    let Some(terms) = &program.coupon else {
        return Err(refuse(
            position,
            "code",
            "the coupon's programme has no terms",
        ));
    };
    if let Some(min) = terms.min_spend
        && order.total < min
    {
        return Err(refuse(
            position,
            "code",
            format!(
                "the coupon needs an order of at least {min}; this one comes to {}",
                order.total
            ),
        ));
    }
    if let Some(why) = super::session::coupon_closed_now(ledger, &tenant.timezone, program) {
        return Err(refuse(
            position,
            "code",
            format!("the coupon cannot be used now: {why}"),
        ));
    }
    if !terms.stores.is_empty()
        && !order
            .store_id
            .is_some_and(|store| terms.stores.iter().any(|s| s == store))
    {
        return Err(refuse(
            position,
            "code",
            match order.store_id {
                Some(store) => format!("the coupon cannot be used in store `{store}`"),
                None => "the coupon is good in some stores only: send the order's store_id".into(),
            },
        ));
    }
    let discount = terms.discount.off(order.total);
    if discount <= 0 {
        return Err(refuse(
            position,
            "code",
            "the coupon takes nothing off this order",
        ));
    }
    Ok(discount)
}
