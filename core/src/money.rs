//! Amounts a payer types on an aggregate QR page, read exactly: a plain
//! decimal in major units with at most the currency's decimals, turned into
//! integer minor units through `rust_decimal`, never a float. Full-width
//! digits and point (what Chinese input methods type) are accepted.

use paycore_plugin_sdk::money;
use rust_decimal::Decimal;

/// An ISO 4217 currency paycore knows the minor unit of. Checked once,
/// where the text enters (a request, a config file, a stored row); a
/// `Currency` in hand is known, so its exponent cannot fail.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

/// A code that is not a supported ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCurrency(pub String);

impl std::fmt::Display for UnknownCurrency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not a supported ISO 4217 currency code", self.0)
    }
}

impl std::error::Error for UnknownCurrency {}

impl Currency {
    pub fn parse(code: &str) -> Result<Currency, UnknownCurrency> {
        match money::exponent(code) {
            Ok(_) => Ok(Currency(code.to_string())),
            Err(_) => Err(UnknownCurrency(code.to_string())),
        }
    }

    /// Its ISO 4217 code, e.g. `CNY`.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// Decimal places of its minor unit (2 for CNY, 0 for JPY).
    pub fn exponent(&self) -> u32 {
        money::exponent(&self.0).expect("a Currency is checked when made")
    }
}

impl TryFrom<String> for Currency {
    type Error = UnknownCurrency;
    fn try_from(code: String) -> Result<Self, UnknownCurrency> {
        Currency::parse(&code)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

/// An amount of money: integer minor units of a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }
}

/// `8888 CNY`: minor units and the code, as messages show money.
impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.minor, self.currency)
    }
}

crate::domain::text_newtype!(Currency);
// A stored code paycore does not know is a decode error, never a guess.
crate::domain::sqlx_text_newtype!(Currency, |code| Ok(Currency::parse(&code)?));

/// Why a typed amount was refused, for the page to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountInputError {
    Empty,
    NotANumber,
    TooManyDecimals { allowed: u32 },
    Zero,
    AboveLimit { max_minor: i64 },
}

/// `typed` as minor units of `currency`, at most `max` (major units).
pub fn parse_entered_amount(
    typed: &str,
    currency: &Currency,
    max: Decimal,
) -> Result<i64, AmountInputError> {
    let exp = currency.exponent();
    let text: String = typed
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' | '。' => '.',
            c => c,
        })
        .collect();
    if text.is_empty() {
        return Err(AmountInputError::Empty);
    }
    let plain = text.len() <= 32
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1
        && text.bytes().any(|b| b.is_ascii_digit())
        && !text.ends_with('.');
    if !plain {
        return Err(AmountInputError::NotANumber);
    }
    let text = if text.starts_with('.') {
        format!("0{text}")
    } else {
        text
    };
    let value: Decimal = text.parse().map_err(|_| AmountInputError::NotANumber)?;
    if value.normalize().scale() > exp {
        return Err(AmountInputError::TooManyDecimals { allowed: exp });
    }
    let scale = Decimal::from(10i64.pow(exp));
    let max_minor = (max * scale)
        .trunc()
        .to_string()
        .parse::<i64>()
        .unwrap_or(i64::MAX)
        .min(crate::request::MAX_AMOUNT);
    if value.is_zero() {
        return Err(AmountInputError::Zero);
    }
    let minor = value
        .checked_mul(scale)
        .and_then(|m| m.normalize().to_string().parse::<i64>().ok())
        .ok_or(AmountInputError::AboveLimit { max_minor })?;
    if minor > max_minor {
        return Err(AmountInputError::AboveLimit { max_minor });
    }
    Ok(minor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn max() -> Decimal {
        Decimal::from_str("2000.00").unwrap()
    }

    #[test]
    fn typed_amounts_become_exact_minor_units() {
        for (typed, currency, want) in [
            ("12.5", "CNY", 1250),
            ("12.50", "CNY", 1250),
            (" 0.01 ", "CNY", 1),
            (".5", "CNY", 50),
            ("2000", "CNY", 200_000),
            ("2000.00", "CNY", 200_000),
            ("0.10", "CNY", 10),
            ("１２．５", "CNY", 1250),
            ("500", "JPY", 500),
            ("1.234", "BHD", 1234),
            // Where floats go wrong: 0.1 + 0.2, 1.005, 19.99.
            ("0.3", "CNY", 30),
            ("1.005", "BHD", 1005),
            ("19.99", "CNY", 1999),
        ] {
            assert_eq!(
                parse_entered_amount(typed, &cur(currency), max()),
                Ok(want),
                "{typed}"
            );
        }
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        use AmountInputError::*;
        for (typed, currency, want) in [
            ("", "CNY", Empty),
            ("   ", "CNY", Empty),
            ("abc", "CNY", NotANumber),
            ("-5", "CNY", NotANumber),
            ("+5", "CNY", NotANumber),
            ("1e3", "CNY", NotANumber),
            ("1,000", "CNY", NotANumber),
            ("1.2.3", "CNY", NotANumber),
            ("5.", "CNY", NotANumber),
            (".", "CNY", NotANumber),
            ("NaN", "CNY", NotANumber),
            ("¥5", "CNY", NotANumber),
            ("12.345", "CNY", TooManyDecimals { allowed: 2 }),
            ("1.5", "JPY", TooManyDecimals { allowed: 0 }),
            ("0", "CNY", Zero),
            ("0.00", "CNY", Zero),
            ("2000.01", "CNY", AboveLimit { max_minor: 200_000 }),
            (
                "99999999999999999999999999",
                "CNY",
                AboveLimit { max_minor: 200_000 },
            ),
        ] {
            assert_eq!(
                parse_entered_amount(typed, &cur(currency), max()),
                Err(want),
                "{typed}"
            );
        }
    }

    fn cur(code: &str) -> Currency {
        Currency::parse(code).expect("a known currency")
    }

    #[test]
    fn a_currency_is_known_or_refused_once() {
        assert_eq!(cur("JPY").exponent(), 0);
        assert_eq!(cur("BHD").exponent(), 3);
        for code in ["XXX", "cny", "", "CNYY"] {
            let refused = Currency::parse(code).expect_err(code);
            assert_eq!(refused.0, code);
            assert!(
                serde_json::from_str::<Currency>(&format!("\"{code}\"")).is_err(),
                "{code}"
            );
        }
        assert_eq!(
            serde_json::to_string(&cur("CNY")).unwrap(),
            "\"CNY\"",
            "written as its code"
        );
        assert_eq!(Money::new(8_888, cur("CNY")).to_string(), "8888 CNY");
    }

    #[test]
    fn trailing_zeros_beyond_the_currency_are_still_exact() {
        assert_eq!(parse_entered_amount("12.500", &cur("CNY"), max()), Ok(1250));
        assert_eq!(
            parse_entered_amount("500.0", &cur("JPY"), Decimal::from(1000)),
            Ok(500)
        );
    }
}
