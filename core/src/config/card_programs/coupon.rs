//! A coupon's terms: its discount (a fixed amount, or a percentage capped
//! by `max_discount`, never both), the least an order must come to, and
//! the weekdays, hours and stores where it may be used. Days and hours are read by the routing
//! rules' own parsers, so a coupon's window means what a rule's does.

use super::entry::Entry;
use super::{CouponTerms, Discount, amounts};
use crate::config::checker::Checker;
use crate::money::Currency;
use crate::routing::window::{self, Window};
use toml::Spanned;

/// A store id, as a payment request accepts it.
const MAX_STORE_ID_LEN: usize = 64;

pub(super) fn terms(
    entry: &Entry<'_>,
    currency: Option<&Currency>,
    c: &mut Checker<'_>,
) -> Option<CouponTerms> {
    let r = entry.raw;
    let discount = match (&r.amount_off, &r.percent_off) {
        (None, None) => {
            if !entry.was_taken_out(c, "amount_off") && !entry.was_taken_out(c, "percent_off") {
                c.error_at(
                    entry.at.clone(),
                    "a coupon needs `amount_off` (\"5.00\") or `percent_off` (\"10\")",
                );
            }
            None
        }
        (Some(amount), Some(percent)) => {
            let second = if amount.span().start > percent.span().start {
                amount.span()
            } else {
                percent.span()
            };
            c.error_at(
                second,
                "a coupon takes `amount_off` or `percent_off`, not both",
            );
            None
        }
        (Some(amount), None) => {
            if let Some(max) = &r.max_discount {
                c.error(
                    max,
                    "`max_discount` applies to `percent_off` only: an `amount_off` discount is fixed",
                );
            }
            amounts::minor(c, "amount_off", amount, currency).map(Discount::AmountOff)
        }
        (None, Some(at)) => {
            let percent = amounts::percent(c, "percent_off", at);
            let max_discount = match &r.max_discount {
                Some(max) => amounts::minor(c, "max_discount", max, currency),
                None => {
                    // A coupon's value is funded when it is issued, so a
                    // percentage needs the most it can come to.
                    if !entry.was_taken_out(c, "max_discount") {
                        c.error(
                            at,
                            "a percentage coupon needs `max_discount`: the ledger funds a coupon's value when it is issued",
                        );
                    }
                    None
                }
            };
            match (percent, max_discount) {
                (Some(percent), Some(max_discount)) => Some(Discount::PercentOff {
                    percent,
                    max_discount,
                }),
                _ => None,
            }
        }
    };
    let min_spend = r.min_spend.as_ref().and_then(|at| {
        let min = amounts::minor(c, "min_spend", at, currency)?;
        if let (Some(Discount::AmountOff(off)), Some(currency)) = (&discount, currency)
            && min <= *off
        {
            c.error(
                at,
                format!(
                    "`min_spend` ({}) must be more than `amount_off` ({}): the coupon would pay for the whole order",
                    amounts::major(min, currency),
                    amounts::major(*off, currency)
                ),
            );
        }
        Some(min)
    });
    let window = window_of(r.days.as_ref(), r.hours.as_ref(), c);
    let stores = r.stores.as_ref().map_or_else(Vec::new, |s| stores(s, c));
    Some(CouponTerms {
        discount: discount?,
        min_spend,
        window,
        stores,
        one_per_order: r.one_per_order.as_ref().is_none_or(|o| *o.get_ref()),
    })
}

/// `days` and `hours` as a routing window; `None` when neither is given.
fn window_of(
    days: Option<&Spanned<Vec<Spanned<String>>>>,
    hours: Option<&Spanned<String>>,
    c: &mut Checker<'_>,
) -> Option<Window> {
    let days = days.and_then(|list| {
        if list.get_ref().is_empty() {
            c.error(
                list,
                "`days` must name at least one day; leave it out for every day",
            );
            return None;
        }
        let mut names = Vec::new();
        for day in list.get_ref() {
            // One at a time, so each bad day is reported where it is.
            if let Err(e) = window::parse_days(&[day.get_ref()]) {
                c.error(day, format!("`days`: {e}"));
            }
            names.push(day.get_ref().as_str());
        }
        let days = window::parse_days(&names).ok()?;
        Some((days, names.join(", ")))
    });
    let hours = hours.and_then(|at| match window::parse_hours(at.get_ref()) {
        Ok(h) => Some((h, at.get_ref().clone())),
        Err(e) => {
            c.error(at, format!("`hours`: {e}"));
            None
        }
    });
    let text = match (&days, &hours) {
        (None, None) => return None,
        (Some(d), Some(h)) => format!("{} {}", d.1, h.1),
        (Some(d), None) => d.1.clone(),
        (None, Some(h)) => h.1.clone(),
    };
    Some(Window {
        days: days.map(|d| d.0),
        hours: hours.map(|h| h.0),
        text,
    })
}

/// Store ids as a payment request carries them, none twice; an empty list
/// would allow no store at all.
fn stores(list: &Spanned<Vec<Spanned<String>>>, c: &mut Checker<'_>) -> Vec<String> {
    if list.get_ref().is_empty() {
        c.error(
            list,
            "`stores` must name at least one store; leave it out for every store",
        );
    }
    let mut out: Vec<String> = Vec::new();
    for store in list.get_ref() {
        let id = store.get_ref();
        if id.is_empty()
            || id.chars().count() > MAX_STORE_ID_LEN
            || id.chars().any(char::is_control)
        {
            c.error(
                store,
                format!("`stores`: a store id is 1-{MAX_STORE_ID_LEN} characters, none of them a control character"),
            );
        } else if out.contains(id) {
            c.error(store, format!("`stores`: `{id}` is listed twice"));
        }
        out.push(id.clone());
    }
    out
}
