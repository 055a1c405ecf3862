//! Amount conditions: a decimal range in major units as a tenant writes it
//! (`">= 0.01"`, `"100.00..=5000"`), turned into exact bounds in each
//! currency's minor units. Nothing is rounded: a bound that the currency
//! cannot represent (`0.5` JPY, `1.0005` BHD) is refused.

use paycore_plugin_sdk::money;
use rust_decimal::Decimal;
use std::ops::Bound;
use std::str::FromStr;

/// A range of amounts in major units, not yet tied to a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountRange {
    pub low: Bound<Decimal>,
    pub high: Bound<Decimal>,
}

/// The same range in one currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinorRange {
    pub low: Bound<i64>,
    pub high: Bound<i64>,
}

impl MinorRange {
    pub fn contains(&self, minor: i64) -> bool {
        let above = match self.low {
            Bound::Included(l) => minor >= l,
            Bound::Excluded(l) => minor > l,
            Bound::Unbounded => true,
        };
        let below = match self.high {
            Bound::Included(h) => minor <= h,
            Bound::Excluded(h) => minor < h,
            Bound::Unbounded => true,
        };
        above && below
    }

    fn is_empty(&self) -> bool {
        match (self.low, self.high) {
            (Bound::Included(l), Bound::Included(h)) => l > h,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(h))
            | (Bound::Excluded(l), Bound::Included(h)) => l >= h,
            _ => false,
        }
    }
}

const SYNTAX: &str = "expected `>= 0.01`, `> 0`, `<= 5000`, `< 5000`, `= 88.88`, `100..5000`, `100.00..=5000`, `100..` or `..=5000` (major units)";

/// Parses the range syntax. Bounds are plain non-negative decimals.
pub fn parse(text: &str) -> Result<AmountRange, String> {
    let t = text.trim();
    let bound = |s: &str| decimal(s.trim(), text);
    let range = if let Some((lo, hi)) = t.split_once("..") {
        let (hi, inclusive) = match hi.strip_prefix('=') {
            Some(h) => (h, true),
            None => (hi, false),
        };
        let low = match lo.trim() {
            "" => Bound::Unbounded,
            l => Bound::Included(bound(l)?),
        };
        let high = match (hi.trim(), inclusive) {
            ("", false) => Bound::Unbounded,
            ("", true) => return Err(format!("`{text}`: `..=` needs an upper bound")),
            (h, true) => Bound::Included(bound(h)?),
            (h, false) => Bound::Excluded(bound(h)?),
        };
        if low == Bound::Unbounded && high == Bound::Unbounded {
            return Err(format!(
                "`{text}` matches every amount: leave `amount` out instead"
            ));
        }
        AmountRange { low, high }
    } else if let Some(v) = t.strip_prefix(">=") {
        AmountRange {
            low: Bound::Included(bound(v)?),
            high: Bound::Unbounded,
        }
    } else if let Some(v) = t.strip_prefix("<=") {
        AmountRange {
            low: Bound::Unbounded,
            high: Bound::Included(bound(v)?),
        }
    } else if let Some(v) = t.strip_prefix('>') {
        AmountRange {
            low: Bound::Excluded(bound(v)?),
            high: Bound::Unbounded,
        }
    } else if let Some(v) = t.strip_prefix('<') {
        AmountRange {
            low: Bound::Unbounded,
            high: Bound::Excluded(bound(v)?),
        }
    } else if let Some(v) = t.strip_prefix("==").or_else(|| t.strip_prefix('=')) {
        let v = bound(v)?;
        AmountRange {
            low: Bound::Included(v),
            high: Bound::Included(v),
        }
    } else {
        return Err(format!("`{text}`: {SYNTAX}"));
    };
    Ok(range)
}

fn decimal(s: &str, text: &str) -> Result<Decimal, String> {
    let plain = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|b| *b == b'.').count() <= 1
        && !s.starts_with('.')
        && !s.ends_with('.');
    if !plain {
        return Err(format!("`{text}`: `{s}` is not a plain decimal; {SYNTAX}"));
    }
    Decimal::from_str(s).map_err(|e| format!("`{text}`: `{s}`: {e}"))
}

impl AmountRange {
    /// The range in `currency`'s minor units, exactly; an error when a bound
    /// has more decimals than the currency has, or when nothing fits.
    pub fn in_minor(&self, text: &str, currency: &str) -> Result<MinorRange, String> {
        let exp = money::exponent(currency).map_err(|e| e.to_string())?;
        let convert = |b: Bound<Decimal>| -> Result<Bound<i64>, String> {
            let d = match b {
                Bound::Included(d) | Bound::Excluded(d) => d,
                Bound::Unbounded => return Ok(Bound::Unbounded),
            };
            let n = d.normalize();
            if n.scale() > exp {
                return Err(format!(
                    "`{text}`: {d} has more decimals than {currency} allows ({exp})"
                ));
            }
            let minor = n
                .checked_mul(Decimal::from(10i64.pow(exp)))
                .and_then(|m| i64::try_from(m).ok())
                .ok_or_else(|| format!("`{text}`: {d} is too large"))?;
            Ok(match b {
                Bound::Included(_) => Bound::Included(minor),
                _ => Bound::Excluded(minor),
            })
        };
        let r = MinorRange {
            low: convert(self.low)?,
            high: convert(self.high)?,
        };
        if r.is_empty() {
            return Err(format!("`{text}` contains no amount"));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(range, currency, minor amount, expected)`; `expected` is `Err` when
    /// the range is refused for that currency.
    #[track_caller]
    fn check(text: &str, currency: &str, cases: &[(i64, bool)]) {
        let range = parse(text)
            .and_then(|r| r.in_minor(text, currency))
            .unwrap_or_else(|e| panic!("{text} {currency}: {e}"));
        for (minor, expected) in cases {
            assert_eq!(
                range.contains(*minor),
                *expected,
                "{minor} {currency} in `{text}`"
            );
        }
    }

    #[track_caller]
    fn refused(text: &str, currency: &str, needle: &str) {
        let e = parse(text)
            .and_then(|r| r.in_minor(text, currency))
            .unwrap_err();
        assert!(e.contains(needle), "{text} {currency}: {e}");
    }

    #[test]
    fn bounds_compare_exactly_in_minor_units() {
        check(">= 0.01", "CNY", &[(0, false), (1, true), (2, true)]);
        check("> 0.01", "CNY", &[(1, false), (2, true)]);
        check("< 100", "CNY", &[(9999, true), (10000, false)]);
        check("<= 100", "CNY", &[(10000, true), (10001, false)]);
        check(
            "= 88.88",
            "CNY",
            &[(8887, false), (8888, true), (8889, false)],
        );
        check(
            "100.00..=5000",
            "CNY",
            &[
                (9999, false),
                (10000, true),
                (500000, true),
                (500001, false),
            ],
        );
        check(
            "100..5000",
            "CNY",
            &[(10000, true), (499999, true), (500000, false)],
        );
        check(
            "100..",
            "USD",
            &[(9999, false), (10000, true), (i64::MAX, true)],
        );
        check(
            "..=5000",
            "EUR",
            &[(1, true), (500000, true), (500001, false)],
        );
        check(" 1 .. 2 ", "CNY", &[(100, true), (199, true), (200, false)]);
    }

    #[test]
    fn zero_and_three_decimal_currencies() {
        // JPY has no minor unit: 100 JPY is 100.
        check(">= 100", "JPY", &[(99, false), (100, true)]);
        check(
            "100.00..=5000",
            "JPY",
            &[(100, true), (5000, true), (5001, false)],
        );
        refused(">= 0.5", "JPY", "more decimals than JPY allows (0)");
        refused("= 1.01", "JPY", "more decimals than JPY allows");
        // BHD has three: 1.234 BHD is 1234 fils.
        check(
            "1.234..=2",
            "BHD",
            &[(1233, false), (1234, true), (2000, true), (2001, false)],
        );
        check("> 0.001", "BHD", &[(1, false), (2, true)]);
        refused(">= 0.0005", "BHD", "more decimals than BHD allows (3)");
        // The same text is fine in CNY but not in JPY.
        check(">= 0.01", "CNY", &[(1, true)]);
        refused(">= 0.01", "JPY", "more decimals");
        refused(">= 0.001", "CNY", "more decimals than CNY allows (2)");
    }

    #[test]
    fn bad_ranges_are_refused() {
        for (text, needle) in [
            ("", "expected"),
            ("lots", "expected"),
            (">= -1", "not a plain decimal"),
            (">= 1e3", "not a plain decimal"),
            (">= .5", "not a plain decimal"),
            ("5..1", "contains no amount"),
            ("5..5", "contains no amount"),
            ("..", "matches every amount"),
            ("1..=", "needs an upper bound"),
            (">= 99999999999999999999", "too large"),
        ] {
            refused(text, "CNY", needle);
        }
        check("5..=5", "CNY", &[(500, true), (501, false)]);
    }
}
