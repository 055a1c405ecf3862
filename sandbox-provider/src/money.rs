//! Exact conversion between the wire's major-unit decimal strings and minor units.
//!
//! The provider deliberately speaks "yuan strings" (like Alipay) so that the
//! channel plugin has to convert money exactly; the provider itself must be at
//! least as strict, so it only accepts the canonical form with exactly the
//! currency's number of decimals. Never floats.

use rust_decimal::Decimal;

/// ISO 4217 minor-unit exponents of the currencies the sandbox accepts.
///
/// Kept private and small on purpose: the plugin SDK has the authoritative
/// table, this crate only needs enough to simulate a real channel, including a
/// zero-decimal (JPY, KRW) and a three-decimal (BHD, KWD) currency.
const CURRENCIES: &[(&str, u32)] = &[
    ("AUD", 2),
    ("BHD", 3),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MOP", 2),
    ("NZD", 2),
    ("SGD", 2),
    ("THB", 2),
    ("USD", 2),
];

/// Largest amount accepted, in minor units. Far above any real payment, and
/// low enough that sums of refunds can never overflow an `i64`.
const MAX_MINOR: i64 = 1_000_000_000_000_000;

/// A supported currency: its code (static, so orders do not allocate for it)
/// and its number of decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Currency {
    pub code: &'static str,
    pub exponent: u32,
}

impl Currency {
    pub(crate) fn lookup(code: &str) -> Option<Currency> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(code, exponent)| Currency { code, exponent })
    }

    /// Formats minor units as the canonical wire string (`8888` CNY → `"88.88"`).
    pub(crate) fn format(self, minor: i64) -> String {
        // `Decimal` keeps its scale when displayed, so 100 at scale 2 is "1.00".
        Decimal::new(minor, self.exponent).to_string()
    }

    /// Formats a total of minor units like `format`; totals of a statement
    /// can exceed an `i64`, so this works on digits instead of a `Decimal`.
    pub(crate) fn format_total(self, minor: i128) -> String {
        let exp = self.exponent as usize;
        let digits = format!("{:0>width$}", minor.unsigned_abs(), width = exp + 1);
        let (int, frac) = digits.split_at(digits.len() - exp);
        let sign = if minor < 0 { "-" } else { "" };
        if frac.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    }

    /// Parses a wire amount into minor units, requiring exactly this currency's
    /// number of decimals and a positive value.
    pub(crate) fn parse(self, s: &str) -> Result<i64, String> {
        let minor = self.parse_magnitude(s)?;
        if minor <= 0 {
            return Err("amount must be greater than zero".to_string());
        }
        Ok(minor)
    }

    /// Parses a signed wire amount such as a fee (`"-0.06"`, `"0.00"`), with
    /// exactly this currency's number of decimals.
    pub(crate) fn parse_signed(self, s: &str) -> Result<i64, String> {
        match s.strip_prefix('-') {
            Some(magnitude) => Ok(-self.parse_magnitude(magnitude)?),
            None => self.parse_magnitude(s),
        }
    }

    /// An unsigned amount in minor units, zero included.
    fn parse_magnitude(self, s: &str) -> Result<i64, String> {
        check_syntax(s)?;
        let d = Decimal::from_str_exact(s).map_err(|_| format!("\"{s}\" is not a valid amount"))?;
        if d.scale() != self.exponent {
            return Err(match self.exponent {
                0 => format!("{} amounts have no decimals, got \"{s}\"", self.code),
                n => format!(
                    "{} amounts need exactly {n} decimals, got \"{s}\"",
                    self.code
                ),
            });
        }
        // With the scale equal to the exponent, the mantissa *is* the amount in
        // minor units: no arithmetic, no rounding.
        let minor = i64::try_from(d.mantissa()).map_err(|_| format!("\"{s}\" is too large"))?;
        if minor > MAX_MINOR {
            return Err(format!("\"{s}\" is too large"));
        }
        Ok(minor)
    }
}

/// Currency-independent shape check: plain digits with an optional fraction,
/// no sign, exponent, whitespace, `_` separators (which `rust_decimal` would
/// otherwise accept) or redundant leading zeros.
pub(crate) fn check_syntax(s: &str) -> Result<(), String> {
    let bad = || format!("amount must be a plain decimal string like \"88.88\", got \"{s}\"");
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(bad());
    }
    if int.len() > 1 && int.starts_with('0') {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::lookup(c).unwrap()
    }

    #[test]
    fn parses_exact_precision_only() {
        assert_eq!(cur("CNY").parse("88.88"), Ok(8888));
        assert_eq!(cur("CNY").parse("0.01"), Ok(1));
        assert_eq!(cur("CNY").parse("1.00"), Ok(100));
        assert_eq!(cur("JPY").parse("500"), Ok(500));
        assert_eq!(cur("BHD").parse("1.234"), Ok(1234));
        for bad in [
            "1.234", "1.2", "1", "1.", ".5", "-1.00", "+1.00", "1e2", "01.00", "1_0.00", " 1.00",
            "0.00", "abc", "",
        ] {
            assert!(cur("CNY").parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(cur("JPY").parse("500.0").is_err());
        assert!(cur("JPY").parse("0").is_err());
        assert!(cur("JPY").parse("99999999999999999999999").is_err());
    }

    #[test]
    fn formats_with_the_currency_scale() {
        assert_eq!(cur("CNY").format(8888), "88.88");
        assert_eq!(cur("CNY").format(100), "1.00");
        assert_eq!(cur("CNY").format(5), "0.05");
        assert_eq!(cur("JPY").format(500), "500");
        assert_eq!(cur("BHD").format(1), "0.001");
    }

    #[test]
    fn signed_amounts_and_totals() {
        assert_eq!(cur("CNY").parse_signed("-0.06"), Ok(-6));
        assert_eq!(cur("CNY").parse_signed("0.00"), Ok(0));
        assert_eq!(cur("CNY").parse_signed("0.53"), Ok(53));
        assert_eq!(cur("JPY").parse_signed("-3"), Ok(-3));
        for bad in ["--0.06", "-", "+0.06", "-0.6", "-1", " -0.06", "-01.00"] {
            assert!(cur("CNY").parse_signed(bad).is_err(), "{bad:?}");
        }
        assert_eq!(cur("CNY").format(-6), "-0.06");
        for (minor, currency) in [
            (0, "CNY"),
            (5, "CNY"),
            (-6, "CNY"),
            (8888, "CNY"),
            (-123_456, "BHD"),
            (500, "JPY"),
            (-3, "JPY"),
            (1, "BHD"),
        ] {
            assert_eq!(
                cur(currency).format_total(i128::from(minor)),
                cur(currency).format(minor)
            );
        }
        assert_eq!(
            cur("CNY").format_total(i128::from(i64::MAX) * 4),
            "368934881474191032.28"
        );
    }

    #[test]
    fn unknown_currency() {
        assert!(Currency::lookup("XXX").is_none());
        assert!(Currency::lookup("cny").is_none());
    }
}
