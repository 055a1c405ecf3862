//! `refund` and `query-refund`: captured value credited back to the
//! payment's cards, oldest hold first, never more than a hold has left.
//! On a punch card the uses come back only with the whole payment; a
//! coupon comes back only with the whole payment too, and then the host
//! gives it back as it was issued.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{
    CardHold, ChannelError, HoldStatus, PaymentRef, ProgramKind, RefundResult, RefundStatus,
};

use crate::failure::{self, Asked, Unit};

/// Whether the refund's credits may already have been made.
///
/// The ledger keys a credit by the refund and the hold, and a credit made
/// again must ask the same amount, which `query-refund` cannot read back:
/// a hold's `credited` sums every refund's credits, this one's included.
/// So a first refund credits what each hold has left, and a replay asks
/// each hold for what it captured. The two plans are the same credits
/// whenever the payment has one hold, as every payment this plugin makes
/// does (one card per payment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    No,
    Yes,
}

pub fn credit_back(
    host: &dyn Host,
    payment: &PaymentRef,
    amount: i64,
    replay: Replay,
) -> Result<RefundResult, ChannelError> {
    let captured: Vec<CardHold> = host
        .ledger_holds()
        .map_err(|e| failure::ledger(e, Asked::Holds(Unit::Money), false))?
        .into_iter()
        .filter(|h| h.status == HoldStatus::Captured)
        .collect();
    let Some(first) = captured.first() else {
        return Err(exceeds_captured(amount));
    };
    let kind = kind_of(host, &first.card)?;
    let uses = kind == ProgramKind::Punch;
    if uses && amount != payment.amount {
        return Err(failure::declined(
            failure::PARTIAL_REFUND_OF_USES,
            "a punch card's uses come back only with the whole payment",
        ));
    }
    if kind == ProgramKind::Coupon && amount != payment.amount {
        return Err(failure::declined(
            failure::PARTIAL_REFUND_OF_COUPON,
            "a coupon comes back only with a refund of the whole payment",
        ));
    }
    let credits = plan(&captured, amount, uses, replay).ok_or_else(|| exceeds_captured(amount))?;
    let unit = if uses { Unit::Uses } else { Unit::Money };
    let mut moved = false;
    for (hold, credit) in &credits {
        host.ledger_credit(hold, *credit)
            .map_err(|e| failure::ledger(e, Asked::Holds(unit), moved))?;
        moved = true;
    }
    Ok(RefundResult {
        status: RefundStatus::Succeeded,
        channel_refund_no: Some(first.id.clone()),
        amount: Some(amount),
        failure: None,
    })
}

/// The card's programme kind: a punch card's holds count uses, a
/// coupon's come back whole.
fn kind_of(host: &dyn Host, card: &str) -> Result<ProgramKind, ChannelError> {
    let card = host
        .ledger_balance(card)
        .map_err(|e| failure::ledger(e, Asked::Holds(Unit::Money), false))?;
    Ok(card.program.kind)
}

/// The credits, hold by hold, that give `amount` back; `None` if the
/// holds cannot cover it. A whole punch payment gives every use back.
fn plan(
    captured: &[CardHold],
    amount: i64,
    uses: bool,
    replay: Replay,
) -> Option<Vec<(String, i64)>> {
    let room = |h: &CardHold| match replay {
        Replay::No => h.amount - h.credited,
        Replay::Yes => h.amount,
    };
    if uses {
        return captured
            .iter()
            .map(|h| (room(h) > 0).then(|| (h.id.clone(), room(h))))
            .collect();
    }
    let mut left = amount;
    let mut credits = Vec::new();
    for hold in captured {
        let credit = left.min(room(hold));
        if credit > 0 {
            credits.push((hold.id.clone(), credit));
            left -= credit;
        }
    }
    (left == 0).then_some(credits)
}

fn exceeds_captured(amount: i64) -> ChannelError {
    failure::declined(
        failure::EXCEEDS_CAPTURED,
        format!("the payment's cards have less than {amount} captured and not yet refunded"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(id: &str, amount: i64, credited: i64) -> CardHold {
        CardHold {
            id: id.to_owned(),
            card: "c".to_owned(),
            amount,
            status: HoldStatus::Captured,
            credited,
        }
    }

    fn credits(list: &[(&str, i64)]) -> Option<Vec<(String, i64)>> {
        Some(list.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect())
    }

    #[test]
    fn credits_fill_the_oldest_holds_first_within_what_they_have_left() {
        let holds = [hold("h1", 600, 500), hold("h2", 400, 0)];
        assert_eq!(
            plan(&holds, 300, false, Replay::No),
            credits(&[("h1", 100), ("h2", 200)])
        );
        assert_eq!(
            plan(&holds, 500, false, Replay::No),
            credits(&[("h1", 100), ("h2", 400)])
        );
        assert_eq!(plan(&holds, 501, false, Replay::No), None);
    }

    #[test]
    fn one_holds_replay_asks_what_the_refund_asked() {
        let before = [hold("h1", 1_000, 200)];
        let after = [hold("h1", 1_000, 700)];
        assert_eq!(
            plan(&before, 500, false, Replay::No),
            credits(&[("h1", 500)])
        );
        assert_eq!(
            plan(&after, 500, false, Replay::Yes),
            credits(&[("h1", 500)])
        );
    }

    #[test]
    fn a_punch_refund_gives_every_use_back() {
        let holds = [hold("h1", 3, 0)];
        assert_eq!(plan(&holds, 2_500, true, Replay::No), credits(&[("h1", 3)]));
        assert_eq!(
            plan(&[hold("h1", 3, 3)], 2_500, true, Replay::Yes),
            credits(&[("h1", 3)])
        );
        assert_eq!(plan(&[hold("h1", 3, 3)], 2_500, true, Replay::No), None);
    }
}
