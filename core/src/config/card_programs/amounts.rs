//! Money in a card programme: decimal strings in major units ("500.00"),
//! read exactly into minor units of the programme's currency through
//! `rust_decimal`, never a float. Every amount a programme names is
//! positive.

use crate::config::checker::Checker;
use crate::money::Currency;
use crate::request::MAX_AMOUNT;
use rust_decimal::Decimal;
use toml::Spanned;

/// `at` in minor units of `currency`, or `None` after reporting why not.
/// Without a currency (its own problem, reported there) only the form is
/// checked.
pub(super) fn minor(
    c: &mut Checker<'_>,
    key: &str,
    at: &Spanned<String>,
    currency: Option<&Currency>,
) -> Option<i64> {
    let text = at.get_ref();
    let value = match text.strip_prefix('-') {
        Some(rest) if plain_decimal(rest) => {
            c.error(at, format!("`{key}` must not be negative"));
            return None;
        }
        _ if plain_decimal(text) => text.parse::<Decimal>().ok(),
        _ => None,
    };
    let Some(value) = value else {
        c.error(
            at,
            format!("`{key}` must be an amount in major units written as a decimal string, like \"500.00\""),
        );
        return None;
    };
    if value.is_zero() {
        c.error(at, format!("`{key}` must be more than 0"));
        return None;
    }
    let currency = currency?;
    let exponent = currency.exponent();
    if value.normalize().scale() > exponent {
        c.error(
            at,
            format!("`{key}`: {text} has more decimals than {currency} allows ({exponent})"),
        );
        return None;
    }
    let minor = value
        .checked_mul(Decimal::from(10i64.pow(exponent)))
        .and_then(|m| i64::try_from(m.normalize()).ok())
        .filter(|m| *m <= MAX_AMOUNT);
    if minor.is_none() {
        c.error(
            at,
            format!(
                "`{key}` is too large: at most {} {currency}",
                major(MAX_AMOUNT, currency)
            ),
        );
    }
    minor
}

/// A percentage for `percent_off`: above 0, below 100, at most 2 decimals.
pub(super) fn percent(c: &mut Checker<'_>, key: &str, at: &Spanned<String>) -> Option<Decimal> {
    let text = at.get_ref();
    let value = plain_decimal(text)
        .then(|| text.parse::<Decimal>().ok())
        .flatten()
        .filter(|p| *p > Decimal::ZERO && *p < Decimal::ONE_HUNDRED && p.normalize().scale() <= 2);
    if value.is_none() {
        c.error(
            at,
            format!("`{key}` must be a percentage above 0 and below 100 with at most 2 decimals, written as a string like \"10\" or \"12.5\""),
        );
    }
    value.map(|p| p.normalize())
}

/// Minor units as the major units a config writes, for messages: 500000
/// CNY is "5000.00".
pub(super) fn major(minor: i64, currency: &Currency) -> String {
    Decimal::new(minor, currency.exponent()).to_string()
}

/// Digits with at most one point between them: no sign, exponent,
/// separator or space. Long enough for any amount paycore holds.
fn plain_decimal(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    text.len() <= 32
        && !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}
