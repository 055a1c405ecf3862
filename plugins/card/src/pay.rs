//! `pay`: find the card, apply its programme's rules, hold what they allow
//! and capture it at once (the payer presented the card for this payment).
//! The hold's id is the channel's order number. `hold_tender` stops after
//! the hold: a tender of a combined order is captured or released by the
//! host once the whole order is final.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{
    CardHold, CardStatus, ChannelError, HoldStatus, LedgerError, PayRequest, PaymentResult,
    ProgramKind, TenderHold,
};

use crate::failure::{self, Asked, Unit};
use crate::{find, rules};

pub fn pay(host: &dyn Host, request: &PayRequest) -> Result<PaymentResult, ChannelError> {
    let (hold, unit) = hold(host, request)?;
    let hold = match hold.status {
        HoldStatus::Held => host
            .ledger_capture(&hold.id)
            .map_err(|e| failure::ledger(e, Asked::Holds(unit), true))?,
        HoldStatus::Captured => hold,
        HoldStatus::Released => return Err(released()),
    };
    Ok(PaymentResult::succeeded(
        Some(hold.id),
        request.amount,
        &request.currency,
    ))
}

/// One tender of a combined order: the hold, left for the host.
pub fn hold_tender(host: &dyn Host, request: &PayRequest) -> Result<TenderHold, ChannelError> {
    let (hold, _) = hold(host, request)?;
    match hold.status {
        HoldStatus::Released => Err(released()),
        HoldStatus::Held | HoldStatus::Captured => Ok(TenderHold::from(&hold)),
    }
}

fn released() -> ChannelError {
    failure::invalid(
        failure::LEDGER_REFUSED,
        "the payment's hold on this card was released: the payment was closed",
    )
}

/// The hold this payment makes on the card it presents, or the one it
/// made already; and the unit the card counts in.
fn hold(host: &dyn Host, request: &PayRequest) -> Result<(CardHold, Unit), ChannelError> {
    let card = find::card(host, request)?;
    let unit = match card.program.kind {
        ProgramKind::Punch => Unit::Uses,
        _ => Unit::Money,
    };
    let hold = match earlier_hold(host, &card.id)? {
        // The same payment again (a retry after a lost answer): what it
        // held is already off the card's balance, so the rules, which read
        // that balance, are not asked again.
        Some(hold) => hold,
        None => {
            let charge = rules::charge(&card, request, host.now_millis())?;
            host.ledger_hold(&card.id, charge.amount)
                .map_err(|e| match e {
                    // Another payment took the coupon since it was read.
                    LedgerError::NotAllowed(_) if card.program.kind == ProgramKind::Coupon => {
                        coupon_taken(host, &card.id)
                            .unwrap_or_else(|| failure::ledger(e, Asked::Holds(unit), false))
                    }
                    e => failure::ledger(e, Asked::Holds(unit), false),
                })?
        }
    };
    Ok((hold, unit))
}

/// Why a coupon the ledger would not hold cannot pay, read again: another
/// payment holds it, or used it; `None` if it is neither.
fn coupon_taken(host: &dyn Host, card: &str) -> Option<ChannelError> {
    let now = host.ledger_balance(card).ok()?;
    if now.status != CardStatus::Active {
        return Some(failure::not_active(now.status));
    }
    (now.held > 0).then(failure::coupon_in_use)
}

/// The hold this payment already made on `card`, if it made one.
fn earlier_hold(host: &dyn Host, card: &str) -> Result<Option<CardHold>, ChannelError> {
    let holds = host
        .ledger_holds()
        .map_err(|e| failure::ledger(e, Asked::Holds(Unit::Money), false))?;
    Ok(holds.into_iter().find(|h| h.card == card))
}
