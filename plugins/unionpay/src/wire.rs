//! acp's field rules and paycore's values in them: order numbers, CNY in
//! integer fen, Beijing-time timestamps.

use paycore_plugin_sdk::types::{ChannelError, Failure};
use time::macros::{format_description, offset};

/// UnionPay's QR-code product takes yuan only…
pub const CURRENCY: &str = "CNY";
/// …which acp writes as ISO 4217's number.
pub const CURRENCY_CODE: &str = "156";

/// `orderId`: 8 to 40 ASCII letters and digits (no `-` or `_`). paycore's
/// number is sent as is or not at all: a rewritten number could not be
/// found again by the merchant, nor told apart from another payment's.
pub fn check_order_no(field: &str, value: &str) -> Result<(), ChannelError> {
    let ok = (8..=40).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ChannelError::InvalidRequest(Failure::new(
            "invalid_order_no",
            format!(
                "UnionPay sends `{field}` as orderId, which must be 8 to 40 ASCII letters or digits; got `{value}`"
            ),
        )))
    }
}

pub fn check_currency(currency: &str) -> Result<(), ChannelError> {
    if currency == CURRENCY {
        Ok(())
    } else {
        Err(ChannelError::InvalidRequest(Failure::new(
            "unsupported_currency",
            format!("UnionPay QR-code payment takes CNY, not {currency}"),
        )))
    }
}

/// `txnAmt`: paycore's minor units of CNY are fen, which is what acp
/// writes, as a plain integer (at most 12 digits, more than zero).
pub fn txn_amt(fen: i64) -> Result<String, ChannelError> {
    if fen > 0 && fen <= 999_999_999_999 {
        Ok(fen.to_string())
    } else {
        Err(ChannelError::InvalidRequest(Failure::new(
            "invalid_amount",
            format!("UnionPay's txnAmt is 1 to 999999999999 fen; got {fen}"),
        )))
    }
}

/// A `txnAmt` UnionPay wrote, read back: digits only, so that `"10.00"`
/// (yuan, by mistake) is refused rather than read as a thousand fen.
pub fn parse_txn_amt(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `YYYYMMDDhhmmss` in Beijing time (UTC+8), as `txnTime` and `payTimeout`
/// are written. `None` for an instant the calendar cannot hold.
pub fn txn_time(millis: i64) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)).ok()?;
    at.to_offset(offset!(+8))
        .format(format_description!(
            "[year][month][day][hour][minute][second]"
        ))
        .ok()
        .filter(|text| text.len() == 14)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_are_8_to_40_letters_and_digits() {
        for good in ["A2026112", "20261125ORDER0001", &"9".repeat(40)] {
            assert!(check_order_no("merchant_order_no", good).is_ok(), "{good}");
        }
        for bad in [
            "A202611",
            "A2026-1125",
            "A2026_1125",
            "订单20261125",
            &"9".repeat(41),
            "",
        ] {
            let err = check_order_no("merchant_order_no", bad).unwrap_err();
            assert!(
                matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_order_no"
                    && f.message.contains("merchant_order_no")
                    && f.message.contains("8 to 40")),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn amounts_are_integer_fen_both_ways() {
        assert_eq!(txn_amt(8888).unwrap(), "8888");
        assert_eq!(txn_amt(1).unwrap(), "1");
        assert!(txn_amt(0).is_err());
        assert!(txn_amt(-1).is_err());
        assert!(txn_amt(1_000_000_000_000).is_err());
        assert_eq!(parse_txn_amt("8888"), Some(8888));
        assert_eq!(parse_txn_amt("000100"), Some(100));
        for bad in ["", "88.88", "-1", "1e3", " 1", "1234567890123"] {
            assert_eq!(parse_txn_amt(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn times_are_beijing_time() {
        // 2026-11-25T08:00:00Z is 16:00 in Beijing.
        assert_eq!(
            txn_time(1_795_593_600_000).as_deref(),
            Some("20261125160000")
        );
        assert_eq!(
            txn_time(1_795_593_600_999).as_deref(),
            Some("20261125160000")
        );
        // 16:00:00 UTC is midnight: the next day in Beijing.
        assert_eq!(
            txn_time(1_795_622_400_000).as_deref(),
            Some("20261126000000")
        );
        assert_eq!(txn_time(i64::MAX), None);
    }
}
