//! Huifu's `resp_code`s (the acceptance of a call; the transaction's own
//! state is `trans_stat`) and what each proves about the money: only a
//! code that shows the transaction was refused becomes a refusal; anything
//! that leaves it possibly made is `outcome-unknown`, settled by a query.

/// The call was done (a transaction made, a query answered).
pub const SUCCESS: &str = "00000000";
/// Accepted and processing, or an order created.
pub const ACCEPTED: &str = "00000100";
/// A query's (or a refund's) original: Huifu has no such transaction.
pub const NOT_FOUND: &str = "23000001";
/// 重复交易: Huifu has this `req_seq_id` already; the first request's
/// outcome is what counts.
pub const DUPLICATE: &str = "20000000";
/// paycore's failure code for a `DUPLICATE` answer, which a query settles.
pub const DUPLICATE_REQUEST: &str = "duplicate_request";

/// What a `resp_code` says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `00000000` or `00000100`: read `trans_stat`.
    Done,
    /// Refused: nothing moved.
    Refused,
    /// Not known: `20000000` (a duplicate — the original's outcome is what
    /// counts), `91111119`, `98888888`, `99999999`, and any code not
    /// published (treated as `98888888`).
    Unknown,
}

pub fn class(code: &str) -> Class {
    match code {
        SUCCESS | ACCEPTED => Class::Done,
        // Bad parameter, concurrency, missing parameter, business failure.
        "10000000" | "20000001" | "21000000" | "90000000" => Class::Refused,
        // Product, merchant, account, permission, fee configuration (22…);
        // the original's state, not found, amount, not supported (23…).
        c if c.len() == 8
            && c.bytes().all(|b| b.is_ascii_digit())
            && (c.starts_with("22") || c.starts_with("23")) =>
        {
            Class::Refused
        }
        _ => Class::Unknown,
    }
}

/// A refused code in paycore's words (see the README's table). Huifu's
/// codes are classes; its `resp_desc` says the rest and is kept as the
/// channel's message, never parsed.
pub fn refusal(code: &str) -> (&'static str, &'static str) {
    match code {
        "10000000" => (
            "invalid_parameter",
            "Huifu refused a parameter (a payment code it cannot read, a bad field)",
        ),
        "20000001" => (
            "concurrent_request",
            "Huifu was processing another request on the same order; try again with a new number",
        ),
        "21000000" => (
            "missing_parameter",
            "Huifu found a required parameter missing",
        ),
        "23000000" => (
            "invalid_order_status",
            "the original transaction is not booked yet, or already final; try again later with a new number",
        ),
        NOT_FOUND => ("order_not_found", "Huifu has no such transaction"),
        "23000003" => (
            "refund_exceeds",
            "the refund exceeds what remains of the payment",
        ),
        "23000004" => (
            "not_supported",
            "Huifu does not support this for the transaction",
        ),
        c if c.starts_with("22") => (
            "merchant_not_enabled",
            "the merchant's product, account, permission or fee is not set up at Huifu for this",
        ),
        c if c.starts_with("23") => (
            "invalid_order_status",
            "the original transaction's state does not allow this",
        ),
        _ => ("declined", "Huifu declined the transaction"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_that_may_have_moved_money_are_never_refusals() {
        for code in [
            "20000000", "91111119", "98888888", "99999999", "12345678", "", "2300000",
        ] {
            assert_eq!(class(code), Class::Unknown, "{code:?}");
        }
        for code in [
            "10000000", "20000001", "21000000", "22000000", "22000005", "23000000", "23000001",
            "23000003", "23000004", "90000000",
        ] {
            assert_eq!(class(code), Class::Refused, "{code}");
        }
        assert_eq!(class("00000000"), Class::Done);
        assert_eq!(class("00000100"), Class::Done);
    }

    #[test]
    fn refusals_in_paycore_words() {
        assert_eq!(refusal("23000003").0, "refund_exceeds");
        assert_eq!(refusal("23000001").0, "order_not_found");
        assert_eq!(refusal("22000005").0, "merchant_not_enabled");
        assert_eq!(refusal("23000009").0, "invalid_order_status");
        assert_eq!(refusal("90000000").0, "declined");
        assert_eq!(refusal("10000000").0, "invalid_parameter");
    }
}
