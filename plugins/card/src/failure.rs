//! The plugin's failures: its decline codes, and what each ledger error
//! means for the operation that met it. Only `declined`, `invalid-request`
//! and `unavailable` say nothing moved, so an error after the call has
//! already moved value is always `outcome-unknown`: the host asks again
//! (query, a repeated cancel, query-refund) and the ledger's idempotent
//! writes finish the job.

use paycore_plugin_sdk::types::{CardStatus, ChannelError, Failure, LedgerError};

pub const INVALID_AUTH_CODE: &str = "invalid_auth_code";
pub const CARD_NOT_FOUND: &str = "card_not_found";
pub const CARD_FROZEN: &str = "card_frozen";
pub const CARD_EXPIRED: &str = "card_expired";
pub const CARD_CLOSED: &str = "card_closed";
pub const INSUFFICIENT_FUNDS: &str = "insufficient_funds";
pub const INSUFFICIENT_USES: &str = "insufficient_uses";
pub const VOUCHER_IN_FULL: &str = "voucher_must_be_used_in_full";
pub const COUPON_NEEDS_ORDER: &str = "coupon_needs_order";
pub const BELOW_MIN_SPEND: &str = "below_min_spend";
pub const OUTSIDE_COUPON_HOURS: &str = "outside_coupon_hours";
pub const STORE_NOT_ELIGIBLE: &str = "store_not_eligible";
pub const COUPON_AMOUNT_MISMATCH: &str = "coupon_amount_mismatch";
pub const COUPON_IN_USE: &str = "coupon_in_use";
pub const ORDER_NOT_FOUND: &str = "order_not_found";
pub const ALREADY_PAID: &str = "already_paid";
pub const EXCEEDS_CAPTURED: &str = "exceeds_captured";
pub const PARTIAL_REFUND_OF_USES: &str = "partial_refund_of_uses";
pub const PARTIAL_REFUND_OF_COUPON: &str = "partial_refund_of_coupon";
pub const CURRENCY_MISMATCH: &str = "currency_mismatch";
pub const LEDGER_REFUSED: &str = "ledger_refused";
pub const LEDGER_UNAVAILABLE: &str = "ledger_unavailable";
pub const LEDGER_INTERRUPTED: &str = "ledger_interrupted";

pub fn declined(code: &str, message: impl Into<String>) -> ChannelError {
    ChannelError::Declined(Failure::new(code, message))
}

pub fn invalid(code: &str, message: impl Into<String>) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(code, message))
}

/// The same words whether no card has that id or it is another member's:
/// a payer never learns that someone else's card exists.
pub fn card_not_found() -> ChannelError {
    declined(CARD_NOT_FOUND, "no such card for this payer")
}

pub fn invalid_auth_code(why: &str) -> ChannelError {
    declined(INVALID_AUTH_CODE, format!("the payment code {why}"))
}

/// Value cannot leave a card in `status`.
pub fn not_active(status: CardStatus) -> ChannelError {
    match status {
        CardStatus::Frozen => declined(CARD_FROZEN, "the card is frozen"),
        CardStatus::Dormant => declined(CARD_EXPIRED, "the card's validity has ended"),
        CardStatus::Closed => declined(CARD_CLOSED, "the card is closed"),
        CardStatus::Active => invalid(
            LEDGER_REFUSED,
            "the ledger said an active card is not active",
        ),
    }
}

/// Another payment is using the coupon.
pub fn coupon_in_use() -> ChannelError {
    declined(COUPON_IN_USE, "the coupon is being used by another payment")
}

/// What the card's value is counted in, for the insufficient decline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Money,
    Uses,
}

pub fn insufficient(unit: Unit) -> ChannelError {
    match unit {
        Unit::Money => declined(
            INSUFFICIENT_FUNDS,
            "the card's balance is short of the amount",
        ),
        Unit::Uses => declined(
            INSUFFICIENT_USES,
            "the card has fewer uses left than the amount needs",
        ),
    }
}

/// What was being asked of the ledger when it answered `err`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// The card a payment code names.
    Code,
    /// A card by its id.
    Card,
    /// The payment's holds: reading them, or a hold, capture, release or
    /// credit of value counted in `Unit`.
    Holds(Unit),
}

/// A ledger error as the operation's answer. `moved`: whether this call
/// already moved value before the ledger answered `err`.
pub fn ledger(err: LedgerError, asked: Asked, moved: bool) -> ChannelError {
    if moved {
        return ChannelError::OutcomeUnknown(Failure::new(
            LEDGER_INTERRUPTED,
            format!("the ledger failed after value had moved ({err:?}); asking again finishes it"),
        ));
    }
    match err {
        LedgerError::NotFound => match asked {
            Asked::Code => invalid_auth_code("names no card"),
            Asked::Card => card_not_found(),
            Asked::Holds(_) => invalid(LEDGER_REFUSED, "the ledger has no such card or hold"),
        },
        LedgerError::CodeExpired => invalid_auth_code("has expired"),
        LedgerError::CodeUsed => invalid_auth_code("was presented for another payment"),
        LedgerError::NotActive(status) => not_active(status),
        LedgerError::Insufficient(_) => insufficient(match asked {
            Asked::Holds(unit) => unit,
            Asked::Code | Asked::Card => Unit::Money,
        }),
        LedgerError::NotAllowed(why) => invalid(LEDGER_REFUSED, why),
        LedgerError::Unavailable(why) => {
            ChannelError::Unavailable(Failure::new(LEDGER_UNAVAILABLE, why))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(err: ChannelError) -> (&'static str, String) {
        let kind = match &err {
            ChannelError::Declined(_) => "declined",
            ChannelError::InvalidRequest(_) => "invalid-request",
            ChannelError::Unavailable(_) => "unavailable",
            ChannelError::OutcomeUnknown(_) => "outcome-unknown",
        };
        (kind, err.failure().code.clone())
    }

    #[test]
    fn every_ledger_error_has_one_meaning_per_question() {
        use Asked::*;
        let money = Holds(Unit::Money);
        let uses = Holds(Unit::Uses);
        let table: Vec<(LedgerError, Asked, (&str, &str))> = vec![
            (LedgerError::NotFound, Code, ("declined", INVALID_AUTH_CODE)),
            (
                LedgerError::CodeExpired,
                Code,
                ("declined", INVALID_AUTH_CODE),
            ),
            (LedgerError::CodeUsed, Code, ("declined", INVALID_AUTH_CODE)),
            (LedgerError::NotFound, Card, ("declined", CARD_NOT_FOUND)),
            (
                LedgerError::NotFound,
                money,
                ("invalid-request", LEDGER_REFUSED),
            ),
            (
                LedgerError::Insufficient(5),
                money,
                ("declined", INSUFFICIENT_FUNDS),
            ),
            (
                LedgerError::Insufficient(2),
                uses,
                ("declined", INSUFFICIENT_USES),
            ),
            (
                LedgerError::NotActive(CardStatus::Frozen),
                money,
                ("declined", CARD_FROZEN),
            ),
            (
                LedgerError::NotActive(CardStatus::Dormant),
                uses,
                ("declined", CARD_EXPIRED),
            ),
            (
                LedgerError::NotActive(CardStatus::Closed),
                Card,
                ("declined", CARD_CLOSED),
            ),
            (
                LedgerError::NotAllowed("no".into()),
                money,
                ("invalid-request", LEDGER_REFUSED),
            ),
            (
                LedgerError::Unavailable("down".into()),
                Code,
                ("unavailable", LEDGER_UNAVAILABLE),
            ),
        ];
        for (err, asked, want) in table {
            let got = seen(ledger(err.clone(), asked, false));
            assert_eq!((got.0, got.1.as_str()), want, "{err:?} asked {asked:?}");
        }
    }

    #[test]
    fn the_hosts_refusal_is_passed_on_in_its_words() {
        let err = ledger(
            LedgerError::NotAllowed("beyond the payment".into()),
            Asked::Card,
            false,
        );
        assert_eq!(err.failure().message, "beyond the payment");
    }

    #[test]
    fn after_value_moved_every_error_is_an_unknown_outcome() {
        for err in [
            LedgerError::Unavailable("down".into()),
            LedgerError::NotAllowed("no".into()),
            LedgerError::Insufficient(0),
        ] {
            let got = seen(ledger(err, Asked::Holds(Unit::Money), true));
            assert_eq!(got, ("outcome-unknown", LEDGER_INTERRUPTED.to_owned()));
        }
    }
}
