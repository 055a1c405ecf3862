//! Huifu's field rules and paycore's values in them: sequence numbers, the
//! e-CNY payment code, yuan amounts, Beijing dates and times.

use paycore_plugin_sdk::money;
use paycore_plugin_sdk::types::{ChannelError, Failure};
use sha2::{Digest as _, Sha256};
use time::macros::{format_description, offset};

/// e-CNY is yuan, and Huifu's amounts carry no currency.
pub const CURRENCY: &str = "CNY";

/// How long an e-CNY QR order (`D_NATIVE`) can be paid, at most, from
/// the payment's creation: paycore sends `time_expire` no later than this.
/// The contract gives `close` no expiry of the payment (only its creation
/// time), so this bound is what close can count on to know that an order
/// can no longer be paid; it is also the window sent when the payment
/// states none.
pub const ORDER_WINDOW_SECS: u32 = 600;

/// Allowance for the difference between Huifu's clock and the host's
/// before an order past its `time_expire` is taken as unpayable.
pub const CLOCK_ALLOWANCE_MILLIS: i64 = 60_000;

pub fn check_currency(currency: &str) -> Result<(), ChannelError> {
    if currency == CURRENCY {
        Ok(())
    } else {
        Err(invalid(
            "unsupported_currency",
            format!("e-CNY takes CNY, not {currency}"),
        ))
    }
}

/// paycore's rule for `req_seq_id`: 1 to 64 ASCII letters or digits
/// (Huifu allows 128 characters, unique per merchant per day). The number
/// is sent as is or not at all: a rewritten one could not be found again.
pub fn check_seq_id(field: &str, value: &str) -> Result<(), ChannelError> {
    let ok = (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "invalid_order_no",
            format!(
                "`{field}` is sent to Huifu as req_seq_id, which must be 1 to 64 ASCII letters or digits ([0-9A-Za-z]{{1,64}}); got `{value}`"
            ),
        ))
    }
}

/// The e-CNY payment code (付款码): `01` and 17 more digits, 19 in all.
/// Not officially published; two public merchant integrations read codes
/// this way, and it collides with no other wallet's codes.
pub fn check_auth_code(code: &str) -> Result<(), ChannelError> {
    let ok = code.len() == 19 && code.starts_with("01") && code.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "invalid_auth_code",
            "`auth_code` is not an e-CNY payment code: 19 digits starting with 01 (^01[0-9]{17}$)",
        ))
    }
}

/// Fen as Huifu's yuan amount: exactly two decimals, 0.01 to
/// 99999999999.99 (`^(0|[1-9][0-9]{0,10})\.[0-9]{2}$`, not `0.00`).
pub fn yuan(fen: i64) -> Result<String, ChannelError> {
    if !(1..=9_999_999_999_999).contains(&fen) {
        return Err(invalid(
            "invalid_amount",
            format!("Huifu's amounts are 0.01 to 99999999999.99 yuan; got {fen} fen"),
        ));
    }
    money::to_major_string(fen, CURRENCY).map_err(|e| invalid("invalid_amount", e.to_string()))
}

/// A yuan amount Huifu wrote, in fen, exactly: digits with at most two
/// decimals. `"1.001"`, a sign or an exponent is no amount (rounding
/// would change the money); a JSON number never gets here (see
/// `Fields::text`).
pub fn parse_yuan(text: &str) -> Option<i64> {
    money::parse_major(text, CURRENCY).ok()
}

/// `yyyyMMdd` in Beijing time (UTC+8): `req_date`.
pub fn beijing_date(millis: i64) -> Option<String> {
    format(millis, format_description!("[year][month][day]"), 8)
}

/// `yyyyMMddHHmmss` in Beijing time: `time_expire`.
pub fn beijing_time(millis: i64) -> Option<String> {
    format(
        millis,
        format_description!("[year][month][day][hour][minute][second]"),
        14,
    )
}

fn format(
    millis: i64,
    description: &[time::format_description::BorrowedFormatItem<'_>],
    len: usize,
) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)).ok()?;
    at.to_offset(offset!(+8))
        .format(description)
        .ok()
        .filter(|text| text.len() == len)
}

/// The `req_date` of a transaction paycore created at `millis`: Huifu finds
/// it again by this date and its `req_seq_id`, so without it nothing is
/// sent.
pub fn req_date(millis: Option<i64>, what: &str) -> Result<String, ChannelError> {
    millis.and_then(beijing_date).ok_or_else(|| {
        invalid(
            "missing_created_time",
            format!(
                "the host did not say when the {what} was created; Huifu identifies a transaction by req_date and req_seq_id, so nothing was sent"
            ),
        )
    })
}

/// When a QR order made at `created` for `expires_in` seconds stops
/// taking money at Huifu (ms): never later than the order window.
pub fn order_expiry(created: i64, expires_in: Option<u32>) -> i64 {
    let seconds = expires_in.map_or(ORDER_WINDOW_SECS, |s| s.min(ORDER_WINDOW_SECS));
    created.saturating_add(i64::from(seconds) * 1000)
}

/// The `req_seq_id` of the refund a cancel makes of a paid payment: the
/// same for every try of that cancel, so Huifu takes it once (a repeat is
/// `20000000`, a duplicate).
pub fn cancel_refund_no(merchant_order_no: &str) -> String {
    const PREFIX: &str = "CXL";
    if PREFIX.len() + merchant_order_no.len() <= 64 {
        format!("{PREFIX}{merchant_order_no}")
    } else {
        // No room for the prefix: a digest stands for the number.
        let digest = hex::encode(Sha256::digest(merchant_order_no.as_bytes()));
        format!("{PREFIX}{}", &digest[..64 - PREFIX.len()])
    }
}

/// At most `max` characters of `text` (Huifu's lengths; a description cut
/// short changes nothing about the money).
pub fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn invalid(code: &str, message: impl Into<String>) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_are_1_to_64_letters_and_digits() {
        for good in ["A", "20261125ORDER0001", &"9".repeat(64)] {
            assert!(check_seq_id("merchant_order_no", good).is_ok(), "{good}");
        }
        for bad in ["", "A-1", "A_1", "订单1", "A 1", &"9".repeat(65)] {
            let err = check_seq_id("merchant_order_no", bad).unwrap_err();
            assert!(
                matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_order_no"
                    && f.message.contains("merchant_order_no")
                    && f.message.contains("[0-9A-Za-z]{1,64}")),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn e_cny_codes_are_19_digits_from_01() {
        assert!(check_auth_code("0123456789012345678").is_ok());
        for bad in [
            "",
            "012345678901234567",
            "01234567890123456789",
            "1123456789012345678",
            "6223000000000000001",
            "134567890123456789",
            "01234567890123456a8",
            "０123456789012345678",
        ] {
            let err = check_auth_code(bad).unwrap_err();
            assert!(
                matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_auth_code"
                    && f.message.contains("auth_code")),
                "{bad}"
            );
        }
    }

    #[test]
    fn amounts_are_yuan_with_two_decimals_both_ways() {
        assert_eq!(yuan(101).unwrap(), "1.01");
        assert_eq!(yuan(1).unwrap(), "0.01");
        assert_eq!(yuan(100).unwrap(), "1.00");
        assert_eq!(yuan(999_999_999).unwrap(), "9999999.99");
        assert_eq!(yuan(9_999_999_999_999).unwrap(), "99999999999.99");
        for bad in [0, -1, 10_000_000_000_000] {
            assert!(yuan(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_yuan("1.01"), Some(101));
        assert_eq!(parse_yuan("88.8"), Some(8880));
        assert_eq!(parse_yuan("0.01"), Some(1));
        for bad in ["1.001", "-1.00", "1e2", " 1.00", "1,00", "", "0x10", "NaN"] {
            assert_eq!(parse_yuan(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn dates_and_times_are_beijing_time() {
        // 2026-11-25T08:00:00Z is 16:00 in Beijing.
        assert_eq!(beijing_date(1_795_593_600_000).as_deref(), Some("20261125"));
        assert_eq!(
            beijing_time(1_795_593_600_999).as_deref(),
            Some("20261125160000")
        );
        // 16:00 UTC is midnight in Beijing: the next day.
        assert_eq!(beijing_date(1_795_622_400_000).as_deref(), Some("20261126"));
        assert_eq!(beijing_date(1_795_622_399_999).as_deref(), Some("20261125"));
        assert_eq!(beijing_date(i64::MAX), None);
        assert!(matches!(
            req_date(None, "payment"),
            Err(ChannelError::InvalidRequest(f)) if f.code == "missing_created_time"
        ));
    }

    #[test]
    fn orders_expire_within_the_window() {
        assert_eq!(order_expiry(1_000, None), 601_000);
        assert_eq!(order_expiry(1_000, Some(120)), 121_000);
        assert_eq!(order_expiry(1_000, Some(900)), 601_000);
    }

    #[test]
    fn a_cancels_refund_number_is_stable_and_fits_the_rule() {
        assert_eq!(cancel_refund_no("A20261125001"), "CXLA20261125001");
        let long = "9".repeat(64);
        let no = cancel_refund_no(&long);
        assert_eq!(no, cancel_refund_no(&long));
        assert_eq!(no.len(), 64);
        assert!(check_seq_id("refund", &no).is_ok());
        assert!(check_seq_id("refund", &cancel_refund_no(&"9".repeat(61))).is_ok());
    }
}
