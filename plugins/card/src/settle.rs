//! `query`, `cancel` and `close`: what the payment's holds say, and what
//! each operation does with them. A payment's holds are all the channel
//! knows of it; none means it never took value.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{
    CardHold, ChannelError, HoldStatus, PaymentRef, PaymentResult, PaymentStatus,
};

use crate::failure::{self, Asked, Unit};

/// Held holds are captured (the payer authorised them; the pay call was
/// cut off between hold and capture): then the payment succeeded if any
/// value was taken, and was closed if all was given back.
pub fn query(host: &dyn Host, payment: &PaymentRef) -> Result<PaymentResult, ChannelError> {
    let holds = holds(host)?;
    if holds.is_empty() {
        return Err(failure::declined(
            failure::ORDER_NOT_FOUND,
            "the payment never held value on a card",
        ));
    }
    let mut moved = false;
    let mut taken = false;
    for hold in &holds {
        match hold.status {
            HoldStatus::Held => {
                host.ledger_capture(&hold.id)
                    .map_err(|e| write_error(e, moved))?;
                moved = true;
                taken = true;
            }
            HoldStatus::Captured => taken = true,
            HoldStatus::Released => {}
        }
    }
    let status = if taken {
        PaymentStatus::Succeeded
    } else {
        PaymentStatus::Closed
    };
    Ok(answer(status, &holds, payment))
}

/// Held value goes back to the card; captured value is credited back in
/// full (less what refunds already credited).
pub fn cancel(host: &dyn Host, payment: &PaymentRef) -> Result<PaymentResult, ChannelError> {
    let holds = holds(host)?;
    let mut moved = false;
    for hold in &holds {
        let left = hold.amount - hold.credited;
        match hold.status {
            HoldStatus::Held => {
                host.ledger_release(&hold.id)
                    .map_err(|e| write_error(e, moved))?;
            }
            HoldStatus::Captured if left > 0 => {
                host.ledger_credit(&hold.id, left)
                    .map_err(|e| write_error(e, moved))?;
            }
            HoldStatus::Captured | HoldStatus::Released => continue,
        }
        moved = true;
    }
    Ok(answer(PaymentStatus::Cancelled, &holds, payment))
}

/// An unpaid payment's held value goes back to the card; a paid one
/// cannot be closed (cancel or refund it).
pub fn close(host: &dyn Host, payment: &PaymentRef) -> Result<PaymentResult, ChannelError> {
    let holds = holds(host)?;
    if holds.iter().any(|h| h.status == HoldStatus::Captured) {
        return Err(failure::declined(
            failure::ALREADY_PAID,
            "the card's value was taken: cancel or refund the payment instead",
        ));
    }
    let mut moved = false;
    for hold in holds.iter().filter(|h| h.status == HoldStatus::Held) {
        host.ledger_release(&hold.id)
            .map_err(|e| write_error(e, moved))?;
        moved = true;
    }
    Ok(answer(PaymentStatus::Closed, &holds, payment))
}

fn holds(host: &dyn Host) -> Result<Vec<CardHold>, ChannelError> {
    host.ledger_holds().map_err(|e| write_error(e, false))
}

fn write_error(err: paycore_plugin_sdk::types::LedgerError, moved: bool) -> ChannelError {
    failure::ledger(err, Asked::Holds(Unit::Money), moved)
}

/// The payment's own amount and currency; the first hold is the channel's
/// order number, as `pay` answered it.
fn answer(status: PaymentStatus, holds: &[CardHold], payment: &PaymentRef) -> PaymentResult {
    PaymentResult {
        status,
        channel_order_no: holds.first().map(|h| h.id.clone()),
        amount: Some(payment.amount),
        currency: Some(payment.currency.clone()),
        action: None,
        failure: None,
    }
}
