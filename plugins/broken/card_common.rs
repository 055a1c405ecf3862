//! A small card channel on the host's ledger (member cards paid by their
//! payment code), shared by the deliberately broken ledger plugins. Each
//! broken crate sets `crate::FLAW` to the one mistake it makes; with every
//! flaw off this is a correct plugin. They exist so the conformance suite's
//! tests can show that each mistake is caught and named.

use paycore_plugin_sdk::types::{
    CallContext, CallbackOutcome, CardHold, ChannelError, Failure, HoldStatus, HttpRequest,
    HttpResponse, LedgerError, Manifest, PayRequest, PaymentRef, PaymentResult, PaymentStatus,
    RefundRef, RefundRequest, RefundResult, RefundStatus, Scene,
};
use paycore_plugin_sdk::{Channel, Describe, Host};

/// The one mistake a broken ledger plugin makes.
#[allow(dead_code)]
pub enum Flaw {
    /// `pay` holds the card's value and answers succeeded without
    /// capturing it: the payer keeps the goods, the card keeps the money.
    SucceedsHoldingOnly,
    /// `query` gives a paid payment's value back to the card, though no
    /// refund was asked for.
    CreditsOnQuery,
}

#[derive(Default)]
pub struct BrokenCard;

impl Describe for BrokenCard {
    fn manifest(&self) -> Manifest {
        Manifest::new(crate::NAME, "0.1.0")
            .with_description("A deliberately broken card plugin: a conformance suite test fixture")
            .with_scenes(&[Scene::Barcode])
            .with_wallets(&["card"])
            .with_currencies(&["CNY"])
    }
}

impl Channel for BrokenCard {
    fn pay(
        &self,
        host: &dyn Host,
        _: &CallContext,
        r: PayRequest,
    ) -> Result<PaymentResult, ChannelError> {
        let code = r.auth_code.as_deref().unwrap_or_default();
        let card = host.ledger_card_by_code(code).map_err(refused)?;
        let earlier = holds(host)?.into_iter().find(|h| h.card == card.id);
        let hold = match earlier {
            Some(hold) => hold,
            None if card.balance < r.amount => {
                return Err(declined("insufficient_funds", "the card holds less"));
            }
            None => host.ledger_hold(&card.id, r.amount).map_err(refused)?,
        };
        let holding_only = matches!(crate::FLAW, Flaw::SucceedsHoldingOnly);
        if hold.status == HoldStatus::Held && !holding_only {
            host.ledger_capture(&hold.id).map_err(refused)?;
        }
        Ok(PaymentResult::succeeded(
            Some(hold.id),
            r.amount,
            &r.currency,
        ))
    }

    fn query(
        &self,
        host: &dyn Host,
        _: &CallContext,
        p: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let holds = holds(host)?;
        if holds.is_empty() {
            return Err(declined("order_not_found", "no value was held"));
        }
        for hold in &holds {
            match hold.status {
                HoldStatus::Held => {
                    host.ledger_capture(&hold.id).map_err(refused)?;
                }
                HoldStatus::Captured if matches!(crate::FLAW, Flaw::CreditsOnQuery) => {
                    // The mistake; the host refuses it, and the plugin
                    // carries on as if it had not asked.
                    let _ = host.ledger_credit(&hold.id, hold.amount);
                }
                _ => {}
            }
        }
        let status = if holds.iter().any(|h| h.status != HoldStatus::Released) {
            PaymentStatus::Succeeded
        } else {
            PaymentStatus::Closed
        };
        Ok(answer(status, &holds, &p))
    }

    fn refund(
        &self,
        host: &dyn Host,
        _: &CallContext,
        r: RefundRequest,
    ) -> Result<RefundResult, ChannelError> {
        credit(host, r.amount)
    }

    /// The same credit again: the ledger answers it with what it did.
    fn query_refund(
        &self,
        host: &dyn Host,
        _: &CallContext,
        r: RefundRef,
    ) -> Result<RefundResult, ChannelError> {
        credit(host, r.amount)
    }

    fn close(
        &self,
        host: &dyn Host,
        _: &CallContext,
        p: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let holds = holds(host)?;
        if holds.iter().any(|h| h.status == HoldStatus::Captured) {
            return Err(declined("already_paid", "cancel or refund it"));
        }
        for hold in holds.iter().filter(|h| h.status == HoldStatus::Held) {
            host.ledger_release(&hold.id).map_err(refused)?;
        }
        Ok(answer(PaymentStatus::Closed, &holds, &p))
    }

    fn cancel(
        &self,
        host: &dyn Host,
        _: &CallContext,
        p: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let holds = holds(host)?;
        for hold in &holds {
            let left = hold.amount - hold.credited;
            match hold.status {
                HoldStatus::Held => {
                    host.ledger_release(&hold.id).map_err(refused)?;
                }
                HoldStatus::Captured if left > 0 => {
                    host.ledger_credit(&hold.id, left).map_err(refused)?;
                }
                _ => {}
            }
        }
        Ok(answer(PaymentStatus::Cancelled, &holds, &p))
    }

    fn handle_callback(
        &self,
        _: &dyn Host,
        _: &CallContext,
        _: HttpRequest,
    ) -> Result<CallbackOutcome, ChannelError> {
        Ok(CallbackOutcome::rejected(HttpResponse::json(404, "{}")))
    }
}

fn holds(host: &dyn Host) -> Result<Vec<CardHold>, ChannelError> {
    host.ledger_holds().map_err(refused)
}

/// `amount` back on the payment's one captured hold.
fn credit(host: &dyn Host, amount: i64) -> Result<RefundResult, ChannelError> {
    let hold = holds(host)?
        .into_iter()
        .find(|h| h.status == HoldStatus::Captured)
        .ok_or_else(|| declined("exceeds_captured", "nothing was captured"))?;
    host.ledger_credit(&hold.id, amount).map_err(refused)?;
    Ok(RefundResult {
        status: RefundStatus::Succeeded,
        channel_refund_no: Some(hold.id),
        amount: Some(amount),
        failure: None,
    })
}

fn answer(status: PaymentStatus, holds: &[CardHold], p: &PaymentRef) -> PaymentResult {
    PaymentResult {
        status,
        channel_order_no: holds.first().map(|h| h.id.clone()),
        amount: Some(p.amount),
        currency: Some(p.currency.clone()),
        action: None,
        failure: None,
    }
}

fn declined(code: &str, message: &str) -> ChannelError {
    ChannelError::Declined(Failure::new(code, message))
}

fn refused(e: LedgerError) -> ChannelError {
    match e {
        LedgerError::Insufficient(_) => declined("insufficient_funds", "the card holds less"),
        LedgerError::Unavailable(why) => ChannelError::Unavailable(Failure::new("ledger", why)),
        other => ChannelError::InvalidRequest(Failure::new("ledger_refused", format!("{other:?}"))),
    }
}
