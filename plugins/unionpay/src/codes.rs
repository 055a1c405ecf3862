//! acp response codes (应答码, 《平台接入接口规范》 5.1.0) and what each
//! proves about the money: only a code that shows the transaction was
//! refused may become `declined` or `invalid-request`; anything that leaves
//! the transaction possibly made is `outcome-unknown`, settled by a query.

/// The request was done (a transaction accepted, a query answered).
pub const SUCCESS: &str = "00";
/// A query's answer: UnionPay has no transaction with that orderId + txnTime.
pub const NO_SUCH_TRANSACTION: &str = "34";
/// A query's `origRespCode`: the consume was undone — reversed, revoked, or
/// refunded in full.
pub const UNDONE: &str = "45";

/// What a transaction answer's `respCode` (or a query's `origRespCode`)
/// says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `00`.
    Success,
    /// Not settled: query later.
    Unknown,
    /// The gateway refused the message itself before any transaction logic
    /// ran (format, signature, missing field, merchant, permission).
    Rejected,
    /// The transaction was refused: nothing moved.
    Refused,
}

pub fn class(code: &str) -> Class {
    match code {
        SUCCESS => Class::Success,
        // 03 communication timeout, 04 state unknown, 05 accepted: the
        // protocol's "query for the result".
        "03" | "04" | "05" => Class::Unknown,
        // 12 duplicate: this orderId + txnTime was sent before, and that
        // first transaction's outcome is what counts. 42, 74 and 75 say the
        // payer was debited; 84 that a system did not answer in time.
        "12" | "42" | "74" | "75" | "84" => Class::Unknown,
        "10" | "11" | "13" | "31" | "32" | "43" => Class::Rejected,
        _ => Class::Refused,
    }
}

/// What paycore calls a refusal with UnionPay's `code`; `refund` for the
/// codes whose meaning depends on it (see the README's table).
pub fn refusal(code: &str, refund: bool) -> (&'static str, &'static str) {
    match code {
        "61" | "44" => (
            "invalid_auth_code",
            "the payment code is not a valid UnionPay code",
        ),
        "64" => ("insufficient_funds", "the payer's balance is not enough"),
        "33" if refund => (
            "refund_exceeds",
            "the refund exceeds what remains of the payment",
        ),
        "33" => ("amount_limit", "the amount exceeds the allowed limit"),
        NO_SUCH_TRANSACTION => ("order_not_found", "UnionPay has no such transaction"),
        "35" => (
            "invalid_order_status",
            "the original transaction does not exist or its state does not allow this",
        ),
        "36" => (
            "order_mismatch",
            "the request does not match the original transaction",
        ),
        UNDONE => (
            "order_reversed",
            "the original transaction was already refunded or revoked",
        ),
        _ => ("declined", "UnionPay refused the transaction"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_that_may_have_moved_money_are_never_refusals() {
        for code in ["03", "04", "05", "12", "42", "74", "75", "84"] {
            assert_eq!(class(code), Class::Unknown, "{code}");
        }
        for code in ["10", "11", "13", "31", "32", "43"] {
            assert_eq!(class(code), Class::Rejected, "{code}");
        }
        for code in ["01", "33", "35", "61", "64", "99", ""] {
            assert_eq!(class(code), Class::Refused, "{code:?}");
        }
        assert_eq!(class("00"), Class::Success);
    }

    #[test]
    fn refusals_in_paycore_words() {
        assert_eq!(refusal("64", false).0, "insufficient_funds");
        assert_eq!(refusal("61", false).0, "invalid_auth_code");
        assert_eq!(refusal("33", false).0, "amount_limit");
        assert_eq!(refusal("33", true).0, "refund_exceeds");
        assert_eq!(refusal("34", true).0, "order_not_found");
        assert_eq!(refusal("77", false).0, "declined");
    }
}
