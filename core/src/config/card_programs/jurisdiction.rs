//! What a jurisdiction allows of prepaid value. Only China's measures on
//! single-purpose commercial prepaid cards ("CN") are known: a named card
//! holds at most ¥5,000.00 and never expires; an anonymous one holds at
//! most ¥1,000.00 and stays usable for at least three years; value past
//! its validity is reactivated for its holder, never forfeited. Elsewhere
//! no cap is known, so a programme says itself how much a card may hold.

use super::amounts;
use super::entry::{Entry, MAX_VALIDITY_DAYS};
use crate::config::checker::Checker;
use crate::domain::ProgramKind;
use crate::money::Currency;

/// Where a programme's rules come from when it names no jurisdiction.
pub const DEFAULT_JURISDICTION: &str = "CN";
/// The most a named card may hold in CN: ¥5,000.00, in fen.
pub const CN_NAMED_CAP: i64 = 500_000;
/// The most an anonymous card may hold in CN: ¥1,000.00, in fen.
pub const CN_ANONYMOUS_CAP: i64 = 100_000;
/// The shortest validity of an anonymous card in CN: three years.
pub const CN_ANONYMOUS_MIN_VALIDITY_DAYS: u32 = 1095;

/// Value sold in advance, which CN's measures govern. A punch card is sold
/// too, but counts uses, not money: no cap or expiry rule applies to it.
fn is_prepaid(kind: ProgramKind) -> bool {
    matches!(
        kind,
        ProgramKind::StoredValue | ProgramKind::Gift | ProgramKind::Voucher
    )
}

/// The most `jurisdiction` lets one card hold, in minor units of
/// `currency`; `None` where no cap is known. CN's caps are amounts in CNY,
/// so they bind its CNY programmes.
pub fn jurisdiction_cap(
    jurisdiction: &str,
    kind: ProgramKind,
    currency: &Currency,
    named: bool,
) -> Option<i64> {
    if jurisdiction != "CN" || !is_prepaid(kind) || currency.as_str() != "CNY" {
        return None;
    }
    Some(if named {
        CN_NAMED_CAP
    } else {
        CN_ANONYMOUS_CAP
    })
}

/// A programme's balance, validity and breakage, as its jurisdiction
/// allows them.
pub(super) struct Limits {
    pub(super) max_balance: Option<i64>,
    pub(super) validity_days: Option<u32>,
    pub(super) breakage: bool,
}

impl Limits {
    pub(super) fn check(
        entry: &Entry<'_>,
        kind: ProgramKind,
        currency: Option<&Currency>,
        jurisdiction: &str,
        named: bool,
        c: &mut Checker<'_>,
    ) -> Limits {
        let r = entry.raw;
        let in_cn = jurisdiction == "CN";
        let card = match (kind, named) {
            (ProgramKind::Voucher, _) => "a voucher (anonymous: it names no holder)",
            (_, true) => "a named card",
            (_, false) => "an anonymous card",
        };
        let max_balance = if is_prepaid(kind) {
            let cap = currency.and_then(|cur| jurisdiction_cap(jurisdiction, kind, cur, named));
            match (&r.max_balance, currency) {
                (Some(at), _) => {
                    let max = amounts::minor(c, "max_balance", at, currency);
                    match (max, cap, currency) {
                        (Some(max), Some(cap), Some(cur)) if max > cap => {
                            c.error(
                                at,
                                format!(
                                    "`max_balance` {} is above CN's cap of {} {cur} on {card}",
                                    amounts::major(max, cur),
                                    amounts::major(cap, cur)
                                ),
                            );
                            // What a card may hold all the same, so that
                            // face values and tiers above it show now too.
                            Some(cap)
                        }
                        _ => max,
                    }
                }
                (None, Some(_)) if cap.is_none() => {
                    let why = if in_cn {
                        "CN's caps are in CNY, so there is none to default to".to_string()
                    } else {
                        format!("jurisdiction {jurisdiction} sets no cap to default to")
                    };
                    entry.missing(
                        c,
                        "max_balance",
                        format!("a {kind} programme needs `max_balance`, the most one card may hold: {why}"),
                    );
                    None
                }
                (None, _) => cap,
            }
        } else {
            None
        };

        let validity_days = match &r.validity_days {
            Some(days) if !(1..=MAX_VALIDITY_DAYS).contains(days.get_ref()) => {
                c.error(
                    days,
                    format!("`validity_days` must be between 1 and {MAX_VALIDITY_DAYS}"),
                );
                None
            }
            Some(days) => Some(*days.get_ref() as u32),
            None => None,
        };
        // CN's expiry rules hold whatever the currency; only its caps are
        // amounts in CNY.
        if in_cn && is_prepaid(kind) {
            match (&r.validity_days, named) {
                (Some(days), true) => c.error(
                    days,
                    "`validity_days`: a named card in CN never expires; leave it out",
                ),
                (Some(days), false)
                    if validity_days.is_some_and(|d| d < CN_ANONYMOUS_MIN_VALIDITY_DAYS) =>
                {
                    c.error(
                        days,
                        format!("`validity_days` must be at least {CN_ANONYMOUS_MIN_VALIDITY_DAYS} (three years) on {card} in CN"),
                    )
                }
                (None, false) => entry.missing(
                    c,
                    "validity_days",
                    format!("{card} in CN must stay usable for at least {CN_ANONYMOUS_MIN_VALIDITY_DAYS} days (three years): set `validity_days`"),
                ),
                _ => {}
            }
        }

        // A coupon has no `breakage` (reported as a key of other kinds).
        let breakage = match &r.breakage {
            Some(b) if *b.get_ref() && kind != ProgramKind::Coupon => {
                if in_cn {
                    c.error(
                        b,
                        "`breakage` must be false in CN: value past its validity stays its holder's, to be reactivated",
                    );
                } else if r.validity_days.is_none() && !entry.was_taken_out(c, "validity_days") {
                    c.error(
                        b,
                        "`breakage` needs `validity_days`: value that never expires is never forfeited",
                    );
                }
                true
            }
            _ => false,
        };
        Limits {
            max_balance,
            validity_days,
            breakage,
        }
    }
}
