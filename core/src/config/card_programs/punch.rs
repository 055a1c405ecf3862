//! A punch card's keys: the service it counts (`unit`), the uses on a new
//! card, and the most one use pays for.

use super::entry::Entry;
use super::{ProgramUnit, amounts};
use crate::config::checker::Checker;
use crate::money::{Currency, Money};
use toml::Spanned;

/// Units on a new punch card.
const MAX_USES: u64 = 1000;

impl Entry<'_> {
    /// A punch card's service unit and uses.
    pub(super) fn punch(
        &self,
        currency: Option<&Currency>,
        c: &mut Checker<'_>,
    ) -> (Option<ProgramUnit>, Option<u32>) {
        let r = self.raw;
        let name = match &r.unit {
            None => {
                self.missing(
                    c,
                    "unit",
                    "a punch programme needs `unit`: the service one use buys, like \"coffee\"",
                );
                None
            }
            Some(unit) => service_unit(unit, c),
        };
        let uses = match &r.uses {
            None => {
                self.missing(
                    c,
                    "uses",
                    format!(
                        "a punch programme needs `uses`: the units on a new card, 1 to {MAX_USES}"
                    ),
                );
                None
            }
            Some(uses) if (1..=MAX_USES).contains(uses.get_ref()) => Some(*uses.get_ref() as u32),
            Some(uses) => {
                c.error(uses, format!("`uses` must be between 1 and {MAX_USES}"));
                None
            }
        };
        let covers_up_to = match &r.covers_up_to {
            None => {
                self.missing(
                    c,
                    "covers_up_to",
                    "a punch programme needs `covers_up_to`: the most one use pays for, like \"30.00\"",
                );
                None
            }
            Some(at) => amounts::minor(c, "covers_up_to", at, currency),
        };
        let unit = match (name, covers_up_to, currency) {
            (Some(name), Some(minor), Some(currency)) => Some(ProgramUnit::Service {
                name,
                covers_up_to: Money::new(minor, currency.clone()),
            }),
            _ => None,
        };
        (unit, uses)
    }
}

/// `[a-z][a-z0-9_]{0,31}`: a service, which an upper-case currency code
/// is not.
fn service_unit(unit: &Spanned<String>, c: &mut Checker<'_>) -> Option<String> {
    let text = unit.get_ref();
    let bytes = text.as_bytes();
    if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_uppercase) && Currency::parse(text).is_ok()
    {
        c.error(
            unit,
            format!("`unit` `{text}` is a currency: a punch card counts uses of a service, like \"coffee\", never money"),
        );
        return None;
    }
    let valid = (1..=32).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    if !valid {
        c.error(
            unit,
            "`unit` must be 1-32 characters of a-z, 0-9 or '_', starting with a letter, like \"coffee\"",
        );
        return None;
    }
    Some(text.clone())
}
