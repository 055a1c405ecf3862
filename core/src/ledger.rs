//! The closed-loop ledger's vocabulary: cards, holds, accounts and the
//! moves that change them, decided here as plain data and written by the
//! runtime's store (`store::ledger`). Pure: no I/O.
//!
//! Double entry: a move is one or more postings, each taking an amount of
//! one unit out of one account and into another, so per tenant and unit
//! the postings sum to zero by construction. Each posting moves value in or
//! out of exactly one card (the move's card): its available balance, what
//! is held on it for a payment, or what expired and can be reactivated. The
//! other side is the card itself or one of the tenant's accounts, whose
//! balances are the sums of their postings ([`Account`]).
//!
//! A move is idempotent by its key: the same key with the same postings is
//! the same move (applied once), the same key with other postings is
//! refused. The keys of the moves a payment or refund makes are derived
//! from their ids, so a retried call can never move value twice.

use crate::domain::{PaymentId, RefundId, string_enum, string_id};
use std::fmt;

string_id!(
    /// A card's id (`card_…`; a coupon, which is a card too, `cpn_…`: its
    /// code).
    CardId
);
string_id!(
    /// A hold's id (`hold_…`).
    HoldId
);

impl CardId {
    pub fn generate() -> Self {
        CardId(crate::domain::new_id("card"))
    }

    /// A new coupon's id, which is also the code it is known by.
    pub fn coupon() -> Self {
        CardId(crate::domain::new_id("cpn"))
    }
}

impl HoldId {
    pub fn generate() -> Self {
        HoldId(crate::domain::new_id("hold"))
    }
}

string_enum!(
    /// Whether a card can be used. Value moves out of a card (a hold, a
    /// top-up's withdrawal) only while it is `active`; value can always come
    /// back to it (a release, a refund).
    CardStatus {
        Active => "active",
        Frozen => "frozen",
        /// Its validity ended: the balance moved to the card's dormant
        /// account, from which it can be reactivated.
        Dormant => "dormant",
        Closed => "closed",
    }
);

string_enum!(
    /// A reservation of value on a card for one payment.
    HoldStatus {
        Held => "held",
        Captured => "captured",
        Released => "released",
    }
);

string_enum!(
    /// What a move does, for the history and the reports.
    MoveKind {
        /// A card issued with value: sold (gift card, voucher) or given (coupon).
        Issue => "issue",
        /// Value bought for a card by a payment, with its bonus.
        TopUp => "top_up",
        /// A refunded top-up taking its value (and bonus) back off the card.
        TopUpReversal => "top_up_reversal",
        Hold => "hold",
        Capture => "capture",
        Release => "release",
        /// Captured value going back to the card.
        Refund => "refund",
        /// Validity ended: available value to the dormant account.
        Expire => "expire",
        /// Dormant value back to available.
        Reactivate => "reactivate",
        /// Dormant value forfeited to breakage, where the programme allows it.
        Forfeit => "forfeit",
        /// A used coupon's value its discount did not take, back to the
        /// promotion that funded it.
        Retire => "retire",
        /// A refunded coupon's retired value given back to it.
        Restore => "restore",
    }
);

/// One of a card's three balances, each stored on its row and never below
/// zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    Available,
    Held,
    Dormant,
}

impl Bucket {
    /// The card row's column holding this balance.
    pub fn column(self) -> &'static str {
        match self {
            Bucket::Available => "balance",
            Bucket::Held => "held",
            Bucket::Dormant => "dormant",
        }
    }
}

/// Where a posting takes value from or puts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account {
    /// One of the move's card's balances.
    Card(Bucket),
    /// Value sold for money (gift cards, top-ups): goes below zero by what
    /// was sold.
    Sales,
    /// Value given away (bonuses, coupons, promotional cards).
    Promotion,
    /// Value spent on purchases.
    Redemption,
    /// Value forfeited after its validity, where the programme allows it.
    Breakage,
}

impl Account {
    /// The account's name in a posting row: a card's balances carry the
    /// card's id, the tenant's accounts are per tenant and unit already.
    pub fn name(self, card: &CardId) -> String {
        match self {
            Account::Card(Bucket::Available) => format!("card:{card}"),
            Account::Card(Bucket::Held) => format!("card:{card}:held"),
            Account::Card(Bucket::Dormant) => format!("card:{card}:dormant"),
            Account::Sales => "sales".into(),
            Account::Promotion => "promotion".into(),
            Account::Redemption => "redemption".into(),
            Account::Breakage => "breakage".into(),
        }
    }

    pub fn bucket(self) -> Option<Bucket> {
        match self {
            Account::Card(bucket) => Some(bucket),
            _ => None,
        }
    }
}

/// `amount` (> 0) of the move's unit from one account to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub from: Account,
    pub to: Account,
    pub amount: i64,
    pub kind: MoveKind,
}

/// What a move does to a hold row, in the same transaction as its postings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldChange {
    /// A new hold for the payment.
    Open { payment: PaymentId, amount: i64 },
    /// `held` → `captured`.
    Capture,
    /// `held` → `released`.
    Release,
    /// Part of what was captured goes back: `refunded + amount ≤ amount`.
    Refund { refund: RefundId, amount: i64 },
}

/// One ledger operation: its postings (all or none), the hold it changes,
/// and what the card must be for it to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub key: String,
    pub kind: MoveKind,
    pub card: CardId,
    pub hold: Option<(HoldId, HoldChange)>,
    pub postings: Vec<Posting>,
    /// Value leaves the card's available balance only while it is active.
    pub requires_active: bool,
    /// The most the card may hold afterwards (available + held + dormant),
    /// when value arrives from outside the card.
    pub cap: Option<i64>,
    /// Value bought now stays usable until then (milliseconds since the
    /// epoch): the card's validity moves out to it, never in.
    pub valid_until: Option<i64>,
    /// Value leaves the available balance only while nothing is held on
    /// the card: a coupon pays for one payment at a time.
    pub sole_hold: bool,
}

/// Why a move cannot be planned (before anything is stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("amount must be above zero, got {0}")]
    NotPositive(i64),
}

fn positive(amount: i64) -> Result<i64, PlanError> {
    if amount > 0 {
        Ok(amount)
    } else {
        Err(PlanError::NotPositive(amount))
    }
}

/// A coupon's available value back to the promotion.
fn retiring(amount: i64) -> Result<Posting, PlanError> {
    Ok(Posting {
        from: Account::Card(Bucket::Available),
        to: Account::Promotion,
        amount: positive(amount)?,
        kind: MoveKind::Retire,
    })
}

/// Who pays for value a card is issued with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Funding {
    /// Sold: the payer paid for it (a gift card, a voucher, a top-up).
    Sale,
    /// Given away by the merchant (a coupon, a promotional card).
    Promotion,
}

impl Funding {
    fn account(self) -> Account {
        match self {
            Funding::Sale => Account::Sales,
            Funding::Promotion => Account::Promotion,
        }
    }
}

impl Move {
    fn new(key: String, kind: MoveKind, card: &CardId, postings: Vec<Posting>) -> Move {
        Move {
            key,
            kind,
            card: card.clone(),
            hold: None,
            postings,
            requires_active: false,
            cap: None,
            valid_until: None,
            sole_hold: false,
        }
    }

    /// The card's validity extends to `until` with this move (a top-up).
    pub fn valid_until(mut self, until: Option<i64>) -> Move {
        self.valid_until = until;
        self
    }

    /// A card's first value.
    pub fn issue(
        card: &CardId,
        amount: i64,
        funding: Funding,
        cap: Option<i64>,
    ) -> Result<Move, PlanError> {
        let posting = Posting {
            from: funding.account(),
            to: Account::Card(Bucket::Available),
            amount: positive(amount)?,
            kind: MoveKind::Issue,
        };
        let mut planned = Move::new(
            format!("issue:{card}"),
            MoveKind::Issue,
            card,
            vec![posting],
        );
        planned.cap = cap;
        Ok(planned)
    }

    /// A card's first value, sold by a payment (a gift card, a voucher, a
    /// punch card): keyed by the payment, so one payment funds one card.
    pub fn sale(
        card: &CardId,
        payment: &PaymentId,
        amount: i64,
        cap: Option<i64>,
    ) -> Result<Move, PlanError> {
        let posting = Posting {
            from: Account::Sales,
            to: Account::Card(Bucket::Available),
            amount: positive(amount)?,
            kind: MoveKind::Issue,
        };
        let mut planned = Move::new(
            format!("sale:{payment}"),
            MoveKind::Issue,
            card,
            vec![posting],
        );
        planned.cap = cap;
        Ok(planned)
    }

    /// Value bought by a payment, and the bonus the programme adds to it.
    /// Keyed by the payment, so a payment tops up once however often its
    /// success is seen.
    pub fn top_up(
        card: &CardId,
        payment: &PaymentId,
        amount: i64,
        bonus: i64,
        cap: Option<i64>,
    ) -> Result<Move, PlanError> {
        let mut postings = vec![Posting {
            from: Account::Sales,
            to: Account::Card(Bucket::Available),
            amount: positive(amount)?,
            kind: MoveKind::TopUp,
        }];
        if bonus > 0 {
            postings.push(Posting {
                from: Account::Promotion,
                to: Account::Card(Bucket::Available),
                amount: bonus,
                kind: MoveKind::TopUp,
            });
        }
        // A paid top-up is credited even to a card frozen since: value
        // coming in harms no one, and the member paid for it.
        let mut planned = Move::new(format!("top_up:{payment}"), MoveKind::TopUp, card, postings);
        planned.cap = cap;
        Ok(planned)
    }

    /// A refunded top-up takes back what it bought and the bonus that came
    /// with it, only from value still available: spent value is not taken.
    pub fn top_up_reversal(
        card: &CardId,
        refund: &RefundId,
        amount: i64,
        bonus: i64,
    ) -> Result<Move, PlanError> {
        let mut postings = vec![Posting {
            from: Account::Card(Bucket::Available),
            to: Account::Sales,
            amount: positive(amount)?,
            kind: MoveKind::TopUpReversal,
        }];
        if bonus > 0 {
            postings.push(Posting {
                from: Account::Card(Bucket::Available),
                to: Account::Promotion,
                amount: bonus,
                kind: MoveKind::TopUpReversal,
            });
        }
        Ok(Move::new(
            format!("top_up_reversal:{refund}"),
            MoveKind::TopUpReversal,
            card,
            postings,
        ))
    }

    /// Puts back what a refund's `top_up_reversal` took, when the refund
    /// failed: once per refund.
    pub fn top_up_restored(
        card: &CardId,
        refund: &RefundId,
        amount: i64,
        bonus: i64,
    ) -> Result<Move, PlanError> {
        let mut postings = vec![Posting {
            from: Account::Sales,
            to: Account::Card(Bucket::Available),
            amount: positive(amount)?,
            kind: MoveKind::TopUp,
        }];
        if bonus > 0 {
            postings.push(Posting {
                from: Account::Promotion,
                to: Account::Card(Bucket::Available),
                amount: bonus,
                kind: MoveKind::TopUp,
            });
        }
        Ok(Move::new(
            format!("top_up_restored:{refund}"),
            MoveKind::TopUp,
            card,
            postings,
        ))
    }

    /// Reserves value on an active card for a payment: one hold per payment
    /// and card.
    pub fn hold(
        card: &CardId,
        hold: &HoldId,
        payment: &PaymentId,
        amount: i64,
    ) -> Result<Move, PlanError> {
        let posting = Posting {
            from: Account::Card(Bucket::Available),
            to: Account::Card(Bucket::Held),
            amount: positive(amount)?,
            kind: MoveKind::Hold,
        };
        let mut planned = Move::new(
            format!("hold:{payment}:{card}"),
            MoveKind::Hold,
            card,
            vec![posting],
        );
        planned.hold = Some((
            hold.clone(),
            HoldChange::Open {
                payment: payment.clone(),
                amount,
            },
        ));
        planned.requires_active = true;
        Ok(planned)
    }

    /// The held value is spent.
    pub fn capture(card: &CardId, hold: &HoldId, amount: i64) -> Result<Move, PlanError> {
        let posting = Posting {
            from: Account::Card(Bucket::Held),
            to: Account::Redemption,
            amount: positive(amount)?,
            kind: MoveKind::Capture,
        };
        let mut planned = Move::new(
            format!("capture:{hold}"),
            MoveKind::Capture,
            card,
            vec![posting],
        );
        planned.hold = Some((hold.clone(), HoldChange::Capture));
        Ok(planned)
    }

    /// The held value goes back to the card.
    pub fn release(card: &CardId, hold: &HoldId, amount: i64) -> Result<Move, PlanError> {
        let posting = Posting {
            from: Account::Card(Bucket::Held),
            to: Account::Card(Bucket::Available),
            amount: positive(amount)?,
            kind: MoveKind::Release,
        };
        let mut planned = Move::new(
            format!("release:{hold}"),
            MoveKind::Release,
            card,
            vec![posting],
        );
        planned.hold = Some((hold.clone(), HoldChange::Release));
        Ok(planned)
    }

    /// Part or all of a captured hold goes back to the card for a refund:
    /// once per refund and hold.
    pub fn refund(
        card: &CardId,
        hold: &HoldId,
        refund: &RefundId,
        amount: i64,
    ) -> Result<Move, PlanError> {
        let posting = Posting {
            from: Account::Redemption,
            to: Account::Card(Bucket::Available),
            amount: positive(amount)?,
            kind: MoveKind::Refund,
        };
        let mut planned = Move::new(
            format!("refund:{refund}:{hold}"),
            MoveKind::Refund,
            card,
            vec![posting],
        );
        planned.hold = Some((
            hold.clone(),
            HoldChange::Refund {
                refund: refund.clone(),
                amount,
            },
        ));
        Ok(planned)
    }

    /// Validity ended: what is available becomes dormant (reactivatable).
    /// `period` names the validity that ended, so the move is made once per
    /// period.
    pub fn expire(card: &CardId, period: &str, amount: i64) -> Result<Move, PlanError> {
        let posting = Posting {
            from: Account::Card(Bucket::Available),
            to: Account::Card(Bucket::Dormant),
            amount: positive(amount)?,
            kind: MoveKind::Expire,
        };
        Ok(Move::new(
            format!("expire:{card}:{period}"),
            MoveKind::Expire,
            card,
            vec![posting],
        ))
    }

    /// Dormant value back to available; `request` keys the reactivation.
    pub fn reactivate(card: &CardId, request: &str, amount: i64) -> Result<Move, PlanError> {
        let posting = Posting {
            from: Account::Card(Bucket::Dormant),
            to: Account::Card(Bucket::Available),
            amount: positive(amount)?,
            kind: MoveKind::Reactivate,
        };
        Ok(Move::new(
            Move::reactivation_key(card, request),
            MoveKind::Reactivate,
            card,
            vec![posting],
        ))
    }

    /// A coupon's hold: as [`Move::hold`], and only while nothing else is
    /// held on it, so two payments can never both be using it.
    pub fn coupon_hold(
        card: &CardId,
        hold: &HoldId,
        payment: &PaymentId,
        amount: i64,
    ) -> Result<Move, PlanError> {
        let mut planned = Move::hold(card, hold, payment, amount)?;
        planned.sole_hold = true;
        Ok(planned)
    }

    /// A coupon is used once: when its hold is captured, what its discount
    /// did not take goes back to the promotion that funded it. Keyed by the
    /// hold.
    pub fn retire(card: &CardId, hold: &HoldId, amount: i64) -> Result<Move, PlanError> {
        Ok(Move::new(
            Move::retire_key(hold),
            MoveKind::Retire,
            card,
            vec![retiring(amount)?],
        ))
    }

    /// The key of [`Move::retire`] for `hold`: what a refund reads back to
    /// restore it.
    pub fn retire_key(hold: &HoldId) -> String {
        format!("retire:{hold}")
    }

    /// A refund gives a used coupon back after its validity ended: what
    /// the refund credited goes back to the promotion too. Keyed by the
    /// refund and the hold.
    pub fn retire_refunded(
        card: &CardId,
        hold: &HoldId,
        refund: &RefundId,
        amount: i64,
    ) -> Result<Move, PlanError> {
        Ok(Move::new(
            format!("retire:{refund}:{hold}"),
            MoveKind::Retire,
            card,
            vec![retiring(amount)?],
        ))
    }

    /// A refund gives a used coupon back: what was retired when its hold
    /// was captured comes back from the promotion. Keyed by the refund and
    /// the hold.
    pub fn restore(
        card: &CardId,
        hold: &HoldId,
        refund: &RefundId,
        amount: i64,
    ) -> Result<Move, PlanError> {
        let posting = Posting {
            from: Account::Promotion,
            to: Account::Card(Bucket::Available),
            amount: positive(amount)?,
            kind: MoveKind::Restore,
        };
        Ok(Move::new(
            format!("restore:{refund}:{hold}"),
            MoveKind::Restore,
            card,
            vec![posting],
        ))
    }

    /// The key of `card`'s reactivation for `request`, known before its
    /// amount: a retried request finds by it the reactivation it made.
    pub fn reactivation_key(card: &CardId, request: &str) -> String {
        format!("reactivate:{card}:{request}")
    }

    /// Dormant value forfeited, where the programme allows breakage.
    pub fn forfeit(card: &CardId, period: &str, amount: i64) -> Result<Move, PlanError> {
        let posting = Posting {
            from: Account::Card(Bucket::Dormant),
            to: Account::Breakage,
            amount: positive(amount)?,
            kind: MoveKind::Forfeit,
        };
        Ok(Move::new(
            format!("forfeit:{card}:{period}"),
            MoveKind::Forfeit,
            card,
            vec![posting],
        ))
    }

    /// What the move does, as text: a key used again must come with the same
    /// fingerprint, or it is another operation reusing a key.
    pub fn fingerprint(&self) -> String {
        let mut text = format!("{}|{}", self.kind, self.card);
        for posting in &self.postings {
            text.push_str(&format!(
                "|{}>{}:{}",
                posting.from.name(&self.card),
                posting.to.name(&self.card),
                posting.amount
            ));
        }
        text
    }

    /// Whether value arrives on the card from outside it (so its cap applies).
    pub fn adds_value(&self) -> bool {
        self.postings
            .iter()
            .any(|p| p.from.bucket().is_none() && p.to.bucket().is_some())
    }
}

impl fmt::Display for Move {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

/// The unit of a card's value in postings: the currency's code for money,
/// `<unit>@<programme>` for a punch card's service units (so two
/// programmes' "coffee" never add up).
pub fn service_unit(unit: &str, program: &str) -> String {
    format!("{unit}@{program}")
}

#[cfg(test)]
mod tests;
