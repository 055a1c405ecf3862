//! One `[[card_programs]]` entry: the keys every programme needs, which
//! keys apply to its kind, and the typed programme when all is well.

use super::jurisdiction::{DEFAULT_JURISDICTION, Limits};
use super::{CardProgram, ProgramUnit, coupon, tiers};
use crate::config::checker::Checker;
use crate::config::raw::RawCardProgram;
use crate::domain::{CardProgramId, ProgramKind};
use crate::money::Currency;
use std::ops::Range;
use toml::Spanned;

/// Which kinds each kind-specific key applies to.
const KIND_KEYS: &[(&str, &[ProgramKind])] = {
    use ProgramKind::*;
    &[
        ("named", &[StoredValue, Gift]),
        ("max_balance", &[StoredValue, Gift, Voucher]),
        ("breakage", &[StoredValue, Gift, Voucher, Punch]),
        ("partial_use", &[StoredValue, Gift, Voucher]),
        ("bonus_tiers", &[StoredValue]),
        ("face_values", &[Gift, Voucher]),
        ("unit", &[Punch]),
        ("uses", &[Punch]),
        ("covers_up_to", &[Punch]),
        ("amount_off", &[Coupon]),
        ("percent_off", &[Coupon]),
        ("min_spend", &[Coupon]),
        ("max_discount", &[Coupon]),
        ("hours", &[Coupon]),
        ("days", &[Coupon]),
        ("stores", &[Coupon]),
        ("one_per_order", &[Coupon]),
    ]
};

/// A validity of a hundred years is surely a typo.
pub(super) const MAX_VALIDITY_DAYS: u64 = 36_500;
const MAX_ID_LEN: usize = 32;

/// One `[[card_programs]]` entry being checked.
pub(super) struct Entry<'r> {
    pub(super) raw: &'r RawCardProgram,
    /// Its `[[card_programs]]` header (or inline table): where a key it
    /// lacks is reported.
    pub(super) at: Range<usize>,
    pub(super) index: usize,
}

impl Entry<'_> {
    /// Whether `key` was written with the wrong type: reported where it
    /// is, then taken out by the reading.
    pub(super) fn was_taken_out(&self, c: &Checker<'_>, key: &str) -> bool {
        c.was_taken_out(&format!("card_programs[{}].{key}", self.index))
    }

    /// Reports `key` missing, unless it was written with the wrong type.
    pub(super) fn missing(&self, c: &mut Checker<'_>, key: &str, message: impl Into<String>) {
        if !self.was_taken_out(c, key) {
            c.error_at(self.at.clone(), message);
        }
    }

    /// A key every programme needs.
    fn required<'v, T>(
        &self,
        value: &'v Option<Spanned<T>>,
        key: &str,
        what: &str,
        c: &mut Checker<'_>,
    ) -> Option<&'v Spanned<T>> {
        if value.is_none() {
            self.missing(c, key, format!("a card programme needs `{key}`: {what}"));
        }
        value.as_ref()
    }

    /// Where the value of kind-specific `key` is written, if it is.
    fn written(&self, key: &str) -> Option<Range<usize>> {
        let r = self.raw;
        match key {
            "named" => r.named.as_ref().map(Spanned::span),
            "max_balance" => r.max_balance.as_ref().map(Spanned::span),
            "breakage" => r.breakage.as_ref().map(Spanned::span),
            "partial_use" => r.partial_use.as_ref().map(Spanned::span),
            "bonus_tiers" => r.bonus_tiers.as_ref().map(Spanned::span),
            "face_values" => r.face_values.as_ref().map(Spanned::span),
            "unit" => r.unit.as_ref().map(Spanned::span),
            "uses" => r.uses.as_ref().map(Spanned::span),
            "covers_up_to" => r.covers_up_to.as_ref().map(Spanned::span),
            "amount_off" => r.amount_off.as_ref().map(Spanned::span),
            "percent_off" => r.percent_off.as_ref().map(Spanned::span),
            "min_spend" => r.min_spend.as_ref().map(Spanned::span),
            "max_discount" => r.max_discount.as_ref().map(Spanned::span),
            "hours" => r.hours.as_ref().map(Spanned::span),
            "days" => r.days.as_ref().map(Spanned::span),
            "stores" => r.stores.as_ref().map(Spanned::span),
            "one_per_order" => r.one_per_order.as_ref().map(Spanned::span),
            _ => unreachable!("`{key}` is not in KIND_KEYS"),
        }
    }

    pub(super) fn check(&self, channels: &[&str], c: &mut Checker<'_>) -> Option<CardProgram> {
        let before = c.errors.0.len();
        let r = self.raw;
        let id = self
            .required(&r.id, "id", "1-32 characters of a-z, 0-9, '-' or '_'", c)
            .and_then(|id| {
                if valid_id(id.get_ref()) {
                    return Some(CardProgramId::from(id.get_ref().as_str()));
                }
                c.error(id, format!("`id` must be 1-{MAX_ID_LEN} characters of a-z, 0-9, '-' or '_', starting with a letter or digit"));
                None
            });
        let kinds = ProgramKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>();
        let kind = self
            .required(&r.kind, "kind", &format!("one of {}", kinds.join(", ")), c)
            .and_then(|kind| match kind.get_ref().parse::<ProgramKind>() {
                Ok(k) => Some(k),
                Err(e) => {
                    c.error(kind, format!("`kind`: {e}"));
                    None
                }
            });
        let channel = self
            .required(
                &r.channel,
                "channel",
                "the id of the tenant's channel that runs it",
                c,
            )
            .and_then(|ch| known_channel(ch, channels, c));
        let currency = self
            .required(&r.currency, "currency", "an ISO 4217 code like \"CNY\"", c)
            .and_then(|cur| match Currency::parse(cur.get_ref()) {
                Ok(currency) => Some(currency),
                Err(e) => {
                    c.error(cur, format!("`currency`: {e}"));
                    None
                }
            });
        let jurisdiction = match &r.jurisdiction {
            None => DEFAULT_JURISDICTION.to_string(),
            Some(j) => {
                let text = j.get_ref();
                if text.len() != 2 || !text.bytes().all(|b| b.is_ascii_uppercase()) {
                    c.error(
                        j,
                        "`jurisdiction` must be two upper-case letters, like \"CN\"",
                    );
                }
                text.clone()
            }
        };
        // Without its kind, which keys belong is unknown: saying more
        // would only guess.
        let kind = kind?;
        for (key, applies_to) in KIND_KEYS {
            if applies_to.contains(&kind) {
                continue;
            }
            if let Some(span) = self.written(key) {
                let to: Vec<&str> = applies_to.iter().map(|k| k.as_str()).collect();
                c.error_at(
                    span,
                    format!(
                        "`{key}` does not apply to a {kind} programme, only to {}",
                        to.join(", ")
                    ),
                );
            }
        }
        let applies = |key: &str| {
            KIND_KEYS
                .iter()
                .any(|(k, kinds)| *k == key && kinds.contains(&kind))
        };
        let cur = currency.as_ref();

        let named = match &r.named {
            Some(n) if applies("named") => *n.get_ref(),
            _ => matches!(kind, ProgramKind::StoredValue | ProgramKind::Gift),
        };
        let limits = Limits::check(self, kind, cur, &jurisdiction, named, c);
        let partial_use = match (&r.partial_use, kind) {
            (Some(p), ProgramKind::Voucher) if *p.get_ref() => {
                c.error(
                    p,
                    "`partial_use` must be false on a voucher: it is used once, in full",
                );
                false
            }
            (Some(p), _) if applies("partial_use") => *p.get_ref(),
            _ => matches!(
                kind,
                ProgramKind::StoredValue | ProgramKind::Gift | ProgramKind::Punch
            ),
        };
        let bonus_tiers = match &r.bonus_tiers {
            Some(tiers) if applies("bonus_tiers") => {
                tiers::bonus_tiers(tiers, self.index, cur, limits.max_balance, c)
            }
            _ => Vec::new(),
        };
        let face_values = match &r.face_values {
            Some(values) if applies("face_values") => {
                tiers::face_values(values, cur, limits.max_balance, c)
            }
            _ => Vec::new(),
        };
        let (unit, uses) = match kind {
            ProgramKind::Punch => self.punch(cur, c),
            _ => (cur.cloned().map(ProgramUnit::Money), None),
        };
        let coupon = match kind {
            ProgramKind::Coupon => coupon::terms(self, cur, c),
            _ => None,
        };
        if c.errors.0.len() != before {
            return None;
        }
        Some(CardProgram {
            id: id?,
            kind,
            channel: channel?,
            currency: currency?,
            jurisdiction,
            unit: unit?,
            named,
            max_balance: limits.max_balance,
            validity_days: limits.validity_days,
            breakage: limits.breakage,
            partial_use,
            bonus_tiers,
            face_values,
            uses,
            coupon,
        })
    }
}

/// `[a-z0-9][a-z0-9_-]{0,31}`.
fn valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (1..=MAX_ID_LEN).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
}

fn known_channel(ch: &Spanned<String>, channels: &[&str], c: &mut Checker<'_>) -> Option<String> {
    if channels.contains(&ch.get_ref().as_str()) {
        return Some(ch.get_ref().clone());
    }
    let known = if channels.is_empty() {
        "none".to_string()
    } else {
        channels.join(", ")
    };
    c.error(
        ch,
        format!(
            "`channel`: unknown channel `{}`; this tenant's channels are: {known}",
            ch.get_ref()
        ),
    );
    None
}
