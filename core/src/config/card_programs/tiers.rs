//! Amounts a card may be topped up or issued for: a stored-value card's
//! bonus tiers, a gift card's or voucher's face values.

use super::{BonusTier, amounts};
use crate::config::checker::Checker;
use crate::config::raw::RawBonusTier;
use crate::money::Currency;
use toml::Spanned;

/// Bonus tiers by strictly ascending `top_up`, each bonus above 0 and below
/// its top-up; a tier whose top-up and bonus together exceed what a card
/// may hold could never be credited in full.
pub(super) fn bonus_tiers(
    tiers: &Spanned<Vec<Spanned<RawBonusTier>>>,
    index: usize,
    currency: Option<&Currency>,
    max_balance: Option<i64>,
    c: &mut Checker<'_>,
) -> Vec<BonusTier> {
    let mut out = Vec::new();
    let mut previous: Option<i64> = None;
    for (i, tier) in tiers.get_ref().iter().enumerate() {
        let raw = tier.get_ref();
        let path = |key: &str| format!("card_programs[{index}].bonus_tiers[{i}].{key}");
        let read = |value: &Option<Spanned<String>>, key: &str, c: &mut Checker<'_>| match value {
            Some(at) => amounts::minor(c, key, at, currency),
            None => {
                if !c.was_taken_out(&path(key)) {
                    c.error(tier, format!("a bonus tier needs `{key}`, like {{ top_up = \"500.00\", bonus = \"50.00\" }}"));
                }
                None
            }
        };
        let top_up = read(&raw.top_up, "top_up", c);
        let bonus = read(&raw.bonus, "bonus", c);
        if let (Some(top_up), Some(at), Some(currency)) = (top_up, &raw.top_up, currency) {
            if let Some(before) = previous
                && top_up <= before
            {
                c.error(
                    at,
                    format!(
                        "`top_up` must be more than the tier before's ({}): tiers go up",
                        amounts::major(before, currency)
                    ),
                );
            }
            previous = Some(top_up);
        }
        let (Some(top_up), Some(bonus), Some(currency)) = (top_up, bonus, currency) else {
            continue;
        };
        if bonus >= top_up {
            let at = raw.bonus.as_ref().expect("read");
            c.error(
                at,
                format!(
                    "`bonus` must be less than its `top_up` ({})",
                    amounts::major(top_up, currency)
                ),
            );
        } else if let Some(max) = max_balance
            && top_up + bonus > max
        {
            c.error(
                tier,
                format!(
                    "a top-up of {} with its bonus of {} would put {} on a card, above what one card may hold ({})",
                    amounts::major(top_up, currency),
                    amounts::major(bonus, currency),
                    amounts::major(top_up + bonus, currency),
                    amounts::major(max, currency),
                ),
            );
        }
        out.push(BonusTier { top_up, bonus });
    }
    out
}

/// Face values a card may be issued for: each positive, at most
/// `max_balance`, none twice.
pub(super) fn face_values(
    values: &Spanned<Vec<Spanned<String>>>,
    currency: Option<&Currency>,
    max_balance: Option<i64>,
    c: &mut Checker<'_>,
) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::new();
    for at in values.get_ref() {
        let Some(value) = amounts::minor(c, "face_values", at, currency) else {
            continue;
        };
        let currency = currency.expect("an amount was read in it");
        if out.contains(&value) {
            c.error(
                at,
                format!(
                    "`face_values`: {} is listed twice",
                    amounts::major(value, currency)
                ),
            );
        } else if let Some(max) = max_balance
            && value > max
        {
            c.error(
                at,
                format!(
                    "`face_values`: {} is above what one card may hold ({})",
                    amounts::major(value, currency),
                    amounts::major(max, currency)
                ),
            );
        }
        out.push(value);
    }
    out
}
