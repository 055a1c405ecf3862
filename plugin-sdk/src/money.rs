//! Exact conversion between integer minor units and decimal major units.
//!
//! paycore holds every amount as an `i64` count of the currency's minor unit
//! (fen, cents, yen, fils). Channels often speak major units instead ("88.88"
//! yuan). Every conversion here is exact or an error: nothing is rounded and
//! no float is involved.
//!
//! Formatting accepts any `i64`. Parsing accepts only amounts `>= 0`: money on
//! a channel's wire and in configuration is never negative, so a sign there
//! means something is wrong.

use std::fmt;

use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// Not an ISO-4217 code this table knows.
    UnknownCurrency(String),
    /// Not a plain decimal number (`"88.88"`, `"500"`).
    Malformed(String),
    /// More decimals than the currency's minor unit can hold (`"1.234"` CNY).
    ExcessPrecision {
        amount: String,
        currency: String,
    },
    Negative(String),
    /// Does not fit in `i64` minor units.
    Overflow(String),
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::UnknownCurrency(code) => write!(f, "unknown currency `{code}`"),
            MoneyError::Malformed(amount) => write!(f, "`{amount}` is not a decimal amount"),
            MoneyError::ExcessPrecision { amount, currency } => {
                write!(f, "`{amount}` has more decimals than {currency} allows")
            }
            MoneyError::Negative(amount) => write!(f, "amount `{amount}` is negative"),
            MoneyError::Overflow(amount) => write!(f, "amount `{amount}` is too large"),
        }
    }
}

impl std::error::Error for MoneyError {}

/// How many decimals the currency's minor unit has (ISO 4217): 2 for CNY,
/// 0 for JPY, 3 for BHD. Codes are upper case.
pub fn exponent(currency: &str) -> Result<u32, MoneyError> {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => Ok(0),
        "AED" | "ARS" | "AUD" | "BDT" | "BGN" | "BRL" | "CAD" | "CHF" | "CNY" | "COP" | "CZK"
        | "DKK" | "EGP" | "EUR" | "GBP" | "HKD" | "HUF" | "IDR" | "ILS" | "INR" | "KES" | "KHR"
        | "KZT" | "LAK" | "LKR" | "MAD" | "MMK" | "MNT" | "MOP" | "MXN" | "MYR" | "NGN" | "NOK"
        | "NPR" | "NZD" | "PEN" | "PHP" | "PKR" | "PLN" | "QAR" | "RON" | "RSD" | "RUB" | "SAR"
        | "SEK" | "SGD" | "THB" | "TRY" | "TWD" | "UAH" | "USD" | "ZAR" => Ok(2),
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => Ok(3),
        "CLF" | "UYW" => Ok(4),
        _ => Err(MoneyError::UnknownCurrency(currency.to_owned())),
    }
}

/// `minor` units as a decimal in major units with exactly the currency's
/// scale: 8888 CNY is 88.88.
pub fn to_decimal(minor: i64, currency: &str) -> Result<Decimal, MoneyError> {
    Ok(Decimal::new(minor, exponent(currency)?))
}

/// `minor` units as a major-unit string with exactly the currency's number
/// of decimals: 8888 CNY is `"88.88"`, 500 JPY is `"500"`, 1 BHD is `"0.001"`.
pub fn to_major_string(minor: i64, currency: &str) -> Result<String, MoneyError> {
    // Decimal's Display keeps the scale, trailing zeros included.
    Ok(to_decimal(minor, currency)?.to_string())
}

/// Parses a major-unit string into minor units: `"88.8"` CNY is 8880.
///
/// Accepts only ASCII digits with an optional `.` followed by at least one
/// digit; no sign, spaces, exponent or thousands separator. Decimals beyond
/// the currency's exponent are accepted only if they are zeros (the value is
/// still exact); otherwise the amount would have to be rounded, which is an
/// error.
pub fn parse_major(amount: &str, currency: &str) -> Result<i64, MoneyError> {
    let exp = exponent(currency)? as usize;
    if amount.starts_with('-') {
        return Err(MoneyError::Negative(amount.to_owned()));
    }
    let (whole, fraction) = match amount.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (amount, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return Err(MoneyError::Malformed(amount.to_owned()));
    }
    let fraction = fraction.unwrap_or("");
    let (kept, dropped) = fraction.split_at(fraction.len().min(exp));
    if dropped.bytes().any(|b| b != b'0') {
        return Err(MoneyError::ExcessPrecision {
            amount: amount.to_owned(),
            currency: currency.to_owned(),
        });
    }
    let padding = std::iter::repeat_n(b'0', exp - kept.len());
    whole
        .bytes()
        .chain(kept.bytes())
        .chain(padding)
        .try_fold(0i64, |acc, digit| {
            acc.checked_mul(10)?.checked_add(i64::from(digit - b'0'))
        })
        .ok_or_else(|| MoneyError::Overflow(amount.to_owned()))
}

/// Converts a major-unit decimal into minor units under the same rules as
/// [`parse_major`]: exact, not negative, within `i64`.
pub fn decimal_to_minor(amount: Decimal, currency: &str) -> Result<i64, MoneyError> {
    let exp = exponent(currency)?;
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(MoneyError::Negative(amount.to_string()));
    }
    // Trailing zeros do not make an amount inexact: 1.230 CNY is 123 fen.
    let normalized = amount.normalize();
    if normalized.scale() > exp {
        return Err(MoneyError::ExcessPrecision {
            amount: amount.to_string(),
            currency: currency.to_owned(),
        });
    }
    let factor = 10i128.pow(exp - normalized.scale());
    normalized
        .mantissa()
        .checked_mul(factor)
        .and_then(|minor| i64::try_from(minor).ok())
        .ok_or_else(|| MoneyError::Overflow(amount.to_string()))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn exponents_follow_iso_4217() {
        for (code, exp) in [
            ("CNY", 2),
            ("USD", 2),
            ("EUR", 2),
            ("GBP", 2),
            ("HKD", 2),
            ("SGD", 2),
            ("AUD", 2),
            ("CAD", 2),
            ("CHF", 2),
            ("TWD", 2),
            ("MOP", 2),
            ("THB", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("VND", 0),
            ("BHD", 3),
            ("KWD", 3),
            ("JOD", 3),
            ("OMR", 3),
            ("TND", 3),
            ("CLF", 4),
        ] {
            assert_eq!(exponent(code), Ok(exp), "{code}");
        }
    }

    #[test]
    fn unknown_and_lower_case_codes_are_rejected() {
        for code in ["XXX", "cny", "", "CNYY"] {
            assert_eq!(
                exponent(code),
                Err(MoneyError::UnknownCurrency(code.into()))
            );
        }
        assert!(matches!(
            parse_major("1.00", "ABC"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(matches!(
            to_major_string(1, "ABC"),
            Err(MoneyError::UnknownCurrency(_))
        ));
    }

    #[test]
    fn formats_with_exactly_the_currency_decimals() {
        assert_eq!(to_major_string(8888, "CNY").unwrap(), "88.88");
        assert_eq!(to_major_string(8800, "CNY").unwrap(), "88.00");
        assert_eq!(to_major_string(5, "USD").unwrap(), "0.05");
        assert_eq!(to_major_string(500, "JPY").unwrap(), "500");
        assert_eq!(to_major_string(1, "BHD").unwrap(), "0.001");
        assert_eq!(to_major_string(0, "CNY").unwrap(), "0.00");
        assert_eq!(to_major_string(0, "JPY").unwrap(), "0");
        assert_eq!(to_major_string(-150, "EUR").unwrap(), "-1.50");
        assert_eq!(
            to_major_string(i64::MAX, "CNY").unwrap(),
            "92233720368547758.07"
        );
        assert_eq!(
            to_major_string(i64::MIN, "JPY").unwrap(),
            "-9223372036854775808"
        );
    }

    #[test]
    fn to_decimal_keeps_the_scale() {
        let d = to_decimal(8800, "CNY").unwrap();
        assert_eq!(d, dec("88"));
        assert_eq!(d.scale(), 2);
    }

    #[test]
    fn parses_exact_amounts() {
        assert_eq!(parse_major("88.88", "CNY"), Ok(8888));
        assert_eq!(parse_major("88.8", "CNY"), Ok(8880));
        assert_eq!(parse_major("88", "CNY"), Ok(8800));
        assert_eq!(parse_major("0.01", "CNY"), Ok(1));
        assert_eq!(parse_major("0", "CNY"), Ok(0));
        assert_eq!(parse_major("0.00", "CNY"), Ok(0));
        assert_eq!(parse_major("007.10", "USD"), Ok(710));
        assert_eq!(parse_major("500", "JPY"), Ok(500));
        assert_eq!(parse_major("0.001", "BHD"), Ok(1));
        assert_eq!(parse_major("1.5", "BHD"), Ok(1500));
    }

    #[test]
    fn zeros_beyond_the_exponent_are_still_exact() {
        assert_eq!(parse_major("88.8800", "CNY"), Ok(8888));
        assert_eq!(parse_major("500.0", "JPY"), Ok(500));
    }

    #[test]
    fn rejects_amounts_that_would_need_rounding() {
        for (amount, currency) in [
            ("1.234", "CNY"),
            ("1.5", "JPY"),
            ("0.0001", "BHD"),
            ("1.001", "USD"),
        ] {
            assert_eq!(
                parse_major(amount, currency),
                Err(MoneyError::ExcessPrecision {
                    amount: amount.into(),
                    currency: currency.into()
                }),
            );
        }
    }

    #[test]
    fn rejects_anything_but_plain_digits() {
        for amount in [
            "", " 1.00", "1.00 ", "+1.00", "1e3", "1E3", "1,000.00", "1_000", ".5", "5.", "1.2.3",
            "abc", "0x10", "١٢", "NaN", "inf",
        ] {
            assert_eq!(
                parse_major(amount, "CNY"),
                Err(MoneyError::Malformed(amount.into())),
                "{amount:?}"
            );
        }
    }

    #[test]
    fn rejects_negative_amounts() {
        assert_eq!(
            parse_major("-1.00", "CNY"),
            Err(MoneyError::Negative("-1.00".into()))
        );
        assert_eq!(
            parse_major("-0", "CNY"),
            Err(MoneyError::Negative("-0".into()))
        );
        assert_eq!(
            decimal_to_minor(dec("-0.01"), "CNY"),
            Err(MoneyError::Negative("-0.01".into()))
        );
    }

    #[test]
    fn rejects_overflow() {
        assert_eq!(parse_major("92233720368547758.07", "CNY"), Ok(i64::MAX));
        assert_eq!(
            parse_major("92233720368547758.08", "CNY"),
            Err(MoneyError::Overflow("92233720368547758.08".into()))
        );
        assert_eq!(parse_major("9223372036854775807", "JPY"), Ok(i64::MAX));
        let huge = "9".repeat(40);
        assert_eq!(
            parse_major(&huge, "JPY"),
            Err(MoneyError::Overflow(huge.clone()))
        );
        assert!(matches!(
            decimal_to_minor(dec("92233720368547758.08"), "CNY"),
            Err(MoneyError::Overflow(_))
        ));
        assert!(matches!(
            decimal_to_minor(Decimal::MAX, "JPY"),
            Err(MoneyError::Overflow(_))
        ));
    }

    #[test]
    fn decimal_to_minor_is_exact() {
        assert_eq!(decimal_to_minor(dec("88.88"), "CNY"), Ok(8888));
        assert_eq!(decimal_to_minor(dec("88.8"), "CNY"), Ok(8880));
        assert_eq!(decimal_to_minor(dec("88.8800"), "CNY"), Ok(8888));
        assert_eq!(decimal_to_minor(dec("500"), "JPY"), Ok(500));
        assert_eq!(decimal_to_minor(dec("0.001"), "BHD"), Ok(1));
        assert_eq!(decimal_to_minor(dec("0"), "CNY"), Ok(0));
        assert_eq!(decimal_to_minor(dec("-0.00"), "CNY"), Ok(0));
        assert_eq!(
            decimal_to_minor(dec("92233720368547758.07"), "CNY"),
            Ok(i64::MAX)
        );
        assert!(matches!(
            decimal_to_minor(dec("1.234"), "CNY"),
            Err(MoneyError::ExcessPrecision { .. })
        ));
        assert!(matches!(
            decimal_to_minor(dec("1.5"), "JPY"),
            Err(MoneyError::ExcessPrecision { .. })
        ));
    }

    #[test]
    fn formatting_and_parsing_round_trip() {
        for currency in ["CNY", "JPY", "BHD", "CLF"] {
            for minor in [0, 1, 9, 10, 99, 100, 101, 8888, 123_456_789, i64::MAX] {
                let text = to_major_string(minor, currency).unwrap();
                assert_eq!(parse_major(&text, currency), Ok(minor), "{text} {currency}");
                let decimal = to_decimal(minor, currency).unwrap();
                assert_eq!(decimal_to_minor(decimal, currency), Ok(minor));
            }
        }
    }

    #[test]
    fn errors_name_the_amount() {
        let err = parse_major("1.234", "CNY").unwrap_err();
        assert_eq!(err.to_string(), "`1.234` has more decimals than CNY allows");
    }
}
