//! A tenant's `[[card_programs]]`: the closed-loop value it issues (member
//! stored-value cards, gift cards, vouchers, punch cards, coupons), checked
//! into typed programmes a ledger can rely on, every problem placed at its
//! value.
//!
//! This file says what a programme is; `entry` checks one entry's keys
//! (which apply to its kind, the ones every programme needs), `amounts`
//! reads money exactly into minor units, `jurisdiction` holds what a
//! jurisdiction allows (caps, expiry, breakage), `tiers` a stored-value
//! card's bonus tiers and the face values of gift cards and vouchers,
//! `punch` and `coupon` the keys of those kinds.

mod amounts;
mod coupon;
mod entry;
mod jurisdiction;
mod punch;
#[cfg(test)]
mod tests;
mod tiers;

pub use jurisdiction::{
    CN_ANONYMOUS_CAP, CN_ANONYMOUS_MIN_VALIDITY_DAYS, CN_NAMED_CAP, DEFAULT_JURISDICTION,
    jurisdiction_cap,
};

use super::checker::Checker;
use super::raw::RawCardProgram;
use crate::domain::{CardProgramId, ProgramKind};
use crate::money::{Currency, Money};
use crate::routing::window::Window;
use entry::Entry;
use rust_decimal::Decimal;
use std::collections::HashSet;
use toml::Spanned;

/// One card programme of a tenant, as validated. Amounts are minor units
/// of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardProgram {
    pub id: CardProgramId,
    pub kind: ProgramKind,
    /// The tenant's channel whose plugin runs the programme's rules.
    pub channel: String,
    /// What the value is held in; for a punch card the currency one use
    /// pays for, for a coupon the currency of its discount.
    pub currency: Currency,
    /// Two upper-case letters ("CN"): whose rules on prepaid value apply.
    pub jurisdiction: String,
    /// What a card counts: money, or uses of a service.
    pub unit: ProgramUnit,
    /// Whether a card is registered to its holder. Only stored-value and
    /// gift cards can be; a voucher, punch card or coupon is honoured for
    /// whoever presents it, so it is `false`.
    pub named: bool,
    /// The most one card may hold: `Some` for stored-value, gift and
    /// voucher programmes (as written, else the jurisdiction's cap), `None`
    /// for punch cards and coupons.
    pub max_balance: Option<i64>,
    /// Days value stays usable after it is issued or topped up; `None`:
    /// it does not expire.
    pub validity_days: Option<u32>,
    /// Whether value past its validity may be forfeited to breakage.
    pub breakage: bool,
    /// Whether one payment may spend part of a card and leave the rest
    /// (a punch card spends one use at a time: `true`; a voucher or coupon
    /// is used once, in full: `false`).
    pub partial_use: bool,
    /// Stored-value only: bonus credited on a top-up, by ascending `top_up`.
    pub bonus_tiers: Vec<BonusTier>,
    /// Gift and voucher only: the amounts a card may be issued for; empty
    /// means any amount up to `max_balance`.
    pub face_values: Vec<i64>,
    /// Punch only: units on a new card.
    pub uses: Option<u32>,
    /// Coupon only: what it takes off and where and when.
    pub coupon: Option<CouponTerms>,
}

/// What one unit of a card is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramUnit {
    /// Value in this currency (stored-value, gift, voucher, coupon).
    Money(Currency),
    /// A punch card's service (`coffee`), never money: one use pays for
    /// at most `covers_up_to` of a purchase.
    Service { name: String, covers_up_to: Money },
}

/// A top-up of at least `top_up` is credited `bonus` more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BonusTier {
    pub top_up: i64,
    pub bonus: i64,
}

/// What a coupon takes off, and where and when it may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponTerms {
    pub discount: Discount,
    /// The least an order must come to for the coupon to apply.
    pub min_spend: Option<i64>,
    /// Weekdays and hours it may be used, in the tenant's time zone (the
    /// routing rules' windows); `None`: any time.
    pub window: Option<Window>,
    /// Store ids where it may be used; empty: every store.
    pub stores: Vec<String>,
    /// At most one coupon of this programme per order.
    pub one_per_order: bool,
}

/// A coupon's discount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discount {
    /// A fixed amount off, in minor units.
    AmountOff(i64),
    /// A share of the order (0 < percent < 100, at most 2 decimals),
    /// taking off at most `max_discount` minor units: the coupon's value,
    /// funded when it is issued.
    PercentOff { percent: Decimal, max_discount: i64 },
}

impl Discount {
    /// The most the coupon takes off: the value a coupon of it is issued
    /// with.
    pub fn value(&self) -> i64 {
        match self {
            Discount::AmountOff(amount) => *amount,
            Discount::PercentOff { max_discount, .. } => *max_discount,
        }
    }

    /// The percentage in hundredths of a percent (`12.5` → 1250): exact,
    /// since the config allows at most 2 decimals.
    /// What it takes off an order of `total` minor units: the amount off,
    /// or the percentage rounded down to a minor unit and at most
    /// `max_discount`; never more than the order. (The card plugin, which
    /// decides, works it out the same way; the host uses this to check a
    /// combined order's tenders before anything is held.)
    pub fn off(&self, total: i64) -> i64 {
        let total = total.max(0);
        let discount = match self {
            Discount::AmountOff(amount) => *amount,
            Discount::PercentOff { max_discount, .. } => {
                let hundredths = i128::from(self.percent_hundredths().unwrap_or(0));
                let share = i128::from(total) * hundredths / 10_000;
                i64::try_from(share).map_or(*max_discount, |share| share.min(*max_discount))
            }
        };
        discount.min(total)
    }

    pub fn percent_hundredths(&self) -> Option<u32> {
        use rust_decimal::prelude::ToPrimitive;
        match self {
            Discount::AmountOff(_) => None,
            Discount::PercentOff { percent, .. } => {
                let hundredths = percent * Decimal::ONE_HUNDRED;
                hundredths.fract().is_zero().then(|| hundredths.to_u32())?
            }
        }
    }
}

impl CardProgram {
    /// The code a ledger keeps balances in: the currency's, or the punch
    /// card's service unit.
    pub fn unit_code(&self) -> String {
        match &self.unit {
            ProgramUnit::Money(currency) => currency.to_string(),
            ProgramUnit::Service { name, .. } => name.clone(),
        }
    }

    /// The bonus credited on a top-up of `top_up_minor`: that of the
    /// highest tier it reaches, 0 below the first.
    pub fn bonus_for(&self, top_up_minor: i64) -> i64 {
        self.bonus_tiers
            .iter()
            .rev()
            .find(|tier| tier.top_up <= top_up_minor)
            .map_or(0, |tier| tier.bonus)
    }

    /// The most the jurisdiction lets one card of this programme hold, in
    /// minor units; `None` where it sets no cap. `max_balance` is never
    /// above it.
    pub fn cap(&self) -> Option<i64> {
        jurisdiction_cap(&self.jurisdiction, self.kind, &self.currency, self.named)
    }
}

/// The programmes that validated, in file order. `channels` are the
/// tenant's channel ids (enabled or not).
pub(super) fn card_programs(
    raw: &[Spanned<RawCardProgram>],
    channels: &[&str],
    c: &mut Checker<'_>,
) -> Vec<CardProgram> {
    let mut ids = HashSet::new();
    let mut out = Vec::new();
    for (index, item) in raw.iter().enumerate() {
        let entry = Entry {
            raw: item.get_ref(),
            at: item.span(),
            index,
        };
        if let Some(id) = &entry.raw.id
            && !ids.insert(id.get_ref().as_str())
        {
            c.error(
                id,
                format!("card programme `{}` is defined twice", id.get_ref()),
            );
        }
        if let Some(program) = entry.check(channels, c) {
            out.push(program);
        }
    }
    out
}
