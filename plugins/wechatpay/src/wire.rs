//! WeChat Pay v3 JSON shapes and their conversions: fen amounts, the
//! order-number rule, `trade_state` and refund `status`.

use paycore_plugin_sdk::types::{ChannelError, Failure, PaymentStatus, RefundStatus};
use serde::{Deserialize, Serialize};

/// WeChat Pay settles mainland merchants in CNY; amounts are integer fen,
/// which is paycore's minor unit, so no conversion happens.
pub const CURRENCY: &str = "CNY";

/// `out_trade_no` and `out_refund_no`: 6 to 32 of `[0-9A-Za-z_-|*]`.
pub fn check_order_no(field: &str, value: &str) -> Result<(), ChannelError> {
    let ok = (6..=32).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*'));
    if ok {
        Ok(())
    } else {
        Err(ChannelError::InvalidRequest(Failure::new(
            "invalid_order_no",
            format!("WeChat Pay's {field} must be 6 to 32 of 0-9 A-Z a-z _ - | *, got `{value}`"),
        )))
    }
}

pub fn check_currency(currency: &str) -> Result<(), ChannelError> {
    if currency == CURRENCY {
        Ok(())
    } else {
        Err(ChannelError::InvalidRequest(Failure::new(
            "unsupported_currency",
            format!("WeChat Pay takes CNY, not {currency}"),
        )))
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Amount {
    pub total: i64,
    #[serde(default = "cny")]
    pub currency: String,
}

fn cny() -> String {
    CURRENCY.to_owned()
}

/// The transaction WeChat returns from codepay, queries and callbacks.
#[derive(Deserialize, Debug)]
pub struct Transaction {
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub trade_state: String,
    pub amount: Option<Amount>,
}

impl Transaction {
    pub fn status(&self) -> Result<PaymentStatus, ChannelError> {
        trade_state(&self.trade_state).ok_or_else(|| {
            ChannelError::OutcomeUnknown(Failure::new(
                "malformed_answer",
                format!("unknown trade_state `{}`", self.trade_state),
            ))
        })
    }
}

/// WeChat `trade_state` → paycore status.
pub fn trade_state(state: &str) -> Option<PaymentStatus> {
    Some(match state {
        "SUCCESS" => PaymentStatus::Succeeded,
        // Paid, then (partly) refunded: the payment itself succeeded.
        "REFUND" => PaymentStatus::Succeeded,
        "NOTPAY" => PaymentStatus::Pending,
        "USERPAYING" => PaymentStatus::Processing,
        "CLOSED" => PaymentStatus::Closed,
        "REVOKED" => PaymentStatus::Cancelled,
        "PAYERROR" => PaymentStatus::Failed,
        _ => return None,
    })
}

#[derive(Deserialize, Debug)]
pub struct RefundAmount {
    pub refund: i64,
}

/// A refund as `/v3/refund/domestic/refunds` and its callback describe it.
#[derive(Deserialize, Debug)]
pub struct Refund {
    pub refund_id: Option<String>,
    pub out_refund_no: String,
    /// `status` in answers, `refund_status` in callbacks.
    #[serde(alias = "refund_status")]
    pub status: String,
    pub amount: RefundAmount,
}

/// WeChat refund `status` → paycore status. `ABNORMAL` (the payer's card
/// refused the money) needs a person at the merchant platform: it stays
/// processing, its amount reserved, rather than pretending either way.
pub fn refund_status(status: &str) -> Option<RefundStatus> {
    Some(match status {
        "SUCCESS" => RefundStatus::Succeeded,
        "PROCESSING" | "ABNORMAL" => RefundStatus::Processing,
        "CLOSED" => RefundStatus::Failed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_follow_wechats_rules() {
        for good in ["A12345", "a_b-c|d*e1", &"9".repeat(32)] {
            assert!(check_order_no("out_trade_no", good).is_ok(), "{good}");
        }
        for bad in ["A1234", &"9".repeat(33), "A12345 ", "A1234.5", "订单123456"] {
            assert!(check_order_no("out_trade_no", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trade_states_map_to_paycore_statuses() {
        use PaymentStatus::*;
        let table = [
            ("SUCCESS", Some(Succeeded)),
            ("REFUND", Some(Succeeded)),
            ("NOTPAY", Some(Pending)),
            ("USERPAYING", Some(Processing)),
            ("CLOSED", Some(Closed)),
            ("REVOKED", Some(Cancelled)),
            ("PAYERROR", Some(Failed)),
            ("ACCEPT", None),
        ];
        for (state, expected) in table {
            assert_eq!(trade_state(state), expected, "{state}");
        }
    }

    #[test]
    fn refund_statuses_never_release_money_that_may_have_moved() {
        assert_eq!(refund_status("SUCCESS"), Some(RefundStatus::Succeeded));
        assert_eq!(refund_status("PROCESSING"), Some(RefundStatus::Processing));
        assert_eq!(refund_status("ABNORMAL"), Some(RefundStatus::Processing));
        assert_eq!(refund_status("CLOSED"), Some(RefundStatus::Failed));
        assert_eq!(refund_status("WHAT"), None);
    }
}
