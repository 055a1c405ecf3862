//! `FakeHost`'s in-memory ledger: cards, payment codes and holds, with the
//! scope rules of the contract's `ledger` interface, so a card programme's
//! plugin can be tested natively. A test double, not the host's ledger: it
//! keeps one tenant's cards and no postings, and checks only what a plugin
//! could get wrong. Coupons are used once, as the host keeps them: held for
//! one payment at a time, closed with nothing left when their hold is
//! captured, given back whole by a credit of the whole hold.

use crate::types::{
    Card, CardHold, CardStatus, CouponTerms, HoldStatus, LedgerError, PayRequest, PaymentRef,
    Program, ProgramKind, RefundRef, RefundRequest,
};

/// How long a payment code registered with
/// [`FakeHost::with_payment_code`](super::FakeHost::with_payment_code) stays
/// valid: a member's dynamic code lives about a minute.
pub const PAYMENT_CODE_VALIDITY_MILLIS: u64 = 60_000;

/// The operation the host is calling, which decides what the ledger lets
/// the plugin do (see the `ledger` interface in `channel.wit`). Set it with
/// [`FakeHost::set_operation`](super::FakeHost::set_operation) before
/// calling the plugin; build it from the request the plugin is handed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// May read a payment code, hold value (in all at most `amount`) and
    /// capture or release the payment's holds.
    Pay { payment: String, amount: i64 },
    /// May capture or release the payment's holds.
    Query { payment: String },
    /// May capture or release the payment's holds.
    Close { payment: String },
    /// May capture or release the payment's holds and credit captured
    /// value back in full.
    Cancel { payment: String },
    /// May credit the payment's captured value back, in all at most `amount`.
    Refund {
        payment: String,
        refund: String,
        amount: i64,
    },
    /// As `Refund`: the same credits again return what they did.
    QueryRefund {
        payment: String,
        refund: String,
        amount: i64,
    },
    /// May only read cards.
    Callback,
}

impl Operation {
    pub fn pay(request: &PayRequest) -> Self {
        Operation::Pay {
            payment: request.payment_id.clone(),
            amount: request.amount,
        }
    }

    pub fn query(payment: &PaymentRef) -> Self {
        Operation::Query {
            payment: payment.payment_id.clone(),
        }
    }

    pub fn close(payment: &PaymentRef) -> Self {
        Operation::Close {
            payment: payment.payment_id.clone(),
        }
    }

    pub fn cancel(payment: &PaymentRef) -> Self {
        Operation::Cancel {
            payment: payment.payment_id.clone(),
        }
    }

    pub fn refund(request: &RefundRequest) -> Self {
        Operation::Refund {
            payment: request.payment.payment_id.clone(),
            refund: request.refund_id.clone(),
            amount: request.amount,
        }
    }

    pub fn query_refund(refund: &RefundRef) -> Self {
        Operation::QueryRefund {
            payment: refund.payment.payment_id.clone(),
            refund: refund.refund_id.clone(),
            amount: refund.amount,
        }
    }

    /// The payment whose holds the operation reaches, if any.
    fn payment(&self) -> Option<&str> {
        match self {
            Operation::Pay { payment, .. }
            | Operation::Query { payment }
            | Operation::Close { payment }
            | Operation::Cancel { payment }
            | Operation::Refund { payment, .. }
            | Operation::QueryRefund { payment, .. } => Some(payment),
            Operation::Callback => None,
        }
    }
}

/// A programme of `kind` in `currency`: partial use for every kind but a
/// voucher and a coupon; no service unit. Punch cards: [`punch_program`].
pub fn program(id: &str, kind: ProgramKind, currency: &str) -> Program {
    Program {
        id: id.to_owned(),
        kind,
        currency: currency.to_owned(),
        service_unit: None,
        covers_up_to: None,
        partial_use: !matches!(kind, ProgramKind::Voucher | ProgramKind::Coupon),
        coupon: None,
    }
}

/// A coupon programme in `currency` with `terms`
/// ([`CouponTerms::amount_off`], [`CouponTerms::percent_off`]). Its card
/// holds the most it takes off: [`coupon`].
pub fn coupon_program(id: &str, currency: &str, terms: CouponTerms) -> Program {
    Program {
        coupon: Some(terms),
        ..program(id, ProgramKind::Coupon, currency)
    }
}

/// An active coupon of `program` held by `holder`, with the value its
/// programme's terms fund: the amount off, or the percentage's
/// `max-discount`.
pub fn coupon(id: &str, program: &Program, holder: &str) -> Card {
    let value = program
        .coupon
        .as_ref()
        .and_then(|t| t.amount_off.or(t.max_discount))
        .unwrap_or(0);
    Card {
        holder: Some(holder.to_owned()),
        ..card(id, program, value)
    }
}

/// A punch-card programme: one use of `unit` pays for at most
/// `covers_up_to` minor units of `currency`.
pub fn punch_program(id: &str, currency: &str, unit: &str, covers_up_to: i64) -> Program {
    Program {
        service_unit: Some(unit.to_owned()),
        covers_up_to: Some(covers_up_to),
        ..program(id, ProgramKind::Punch, currency)
    }
}

/// An active, unnamed card of `program` with `balance` available (uses on
/// a punch card), nothing held, no expiry; adjust the rest with struct
/// update syntax.
pub fn card(id: &str, program: &Program, balance: i64) -> Card {
    Card {
        id: id.to_owned(),
        program: program.clone(),
        status: CardStatus::Active,
        holder: None,
        balance,
        held: 0,
        expires_at: None,
    }
}

struct PaymentCode {
    code: String,
    card: String,
    expires_at: u64,
    /// The payment the code was first presented for.
    payment: Option<String>,
}

struct HoldRow {
    payment: String,
    hold: CardHold,
    /// A coupon's: what its capture gave back to the promotion.
    retired: i64,
}

/// One credit, keyed by the refund (or the payment's cancel) and the hold.
struct Credit {
    key: String,
    hold: String,
    amount: i64,
    answer: CardHold,
}

#[derive(Default)]
pub(super) struct Ledger {
    cards: Vec<Card>,
    codes: Vec<PaymentCode>,
    holds: Vec<HoldRow>,
    credits: Vec<Credit>,
    pub(super) operation: Option<Operation>,
    pub(super) unavailable: Option<String>,
}

fn not_allowed(why: impl Into<String>) -> LedgerError {
    LedgerError::NotAllowed(why.into())
}

impl Ledger {
    pub(super) fn add_card(&mut self, card: Card) {
        self.cards.retain(|c| c.id != card.id);
        self.cards.push(card);
    }

    pub(super) fn add_code(&mut self, code: &str, card: &str, expires_at: u64) {
        self.codes.retain(|c| c.code != code);
        self.codes.push(PaymentCode {
            code: code.to_owned(),
            card: card.to_owned(),
            expires_at,
            payment: None,
        });
    }

    pub(super) fn card(&self, id: &str) -> Option<&Card> {
        self.cards.iter().find(|c| c.id == id)
    }

    pub(super) fn holds_of(&self, payment: &str) -> Vec<CardHold> {
        self.holds
            .iter()
            .filter(|row| row.payment == payment)
            .map(|row| row.hold.clone())
            .collect()
    }

    fn reachable(&self) -> Result<(), LedgerError> {
        match &self.unavailable {
            Some(why) => Err(LedgerError::Unavailable(why.clone())),
            None => Ok(()),
        }
    }

    fn card_mut(&mut self, id: &str) -> Result<&mut Card, LedgerError> {
        self.cards
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or(LedgerError::NotFound)
    }

    /// The payment being paid and its amount.
    fn paying(&self) -> Result<(String, i64), LedgerError> {
        match &self.operation {
            Some(Operation::Pay { payment, amount }) => Ok((payment.clone(), *amount)),
            _ => Err(not_allowed("only `pay` may do this")),
        }
    }

    /// The payment whose holds may be captured or released now.
    fn settling(&self) -> Result<String, LedgerError> {
        match &self.operation {
            Some(
                Operation::Pay { payment, .. }
                | Operation::Query { payment }
                | Operation::Close { payment }
                | Operation::Cancel { payment },
            ) => Ok(payment.clone()),
            _ => Err(not_allowed(
                "holds are captured or released only by pay, query, close and cancel",
            )),
        }
    }

    fn hold_row(&mut self, payment: &str, hold: &str) -> Result<&mut HoldRow, LedgerError> {
        self.holds
            .iter_mut()
            .find(|row| row.payment == payment && row.hold.id == hold)
            .ok_or(LedgerError::NotFound)
    }

    pub(super) fn card_by_code(&mut self, code: &str, now: u64) -> Result<Card, LedgerError> {
        self.reachable()?;
        let (payment, _) = self.paying()?;
        let entry = self
            .codes
            .iter_mut()
            .find(|c| c.code == code)
            .ok_or(LedgerError::NotFound)?;
        match &entry.payment {
            Some(bound) if *bound != payment => return Err(LedgerError::CodeUsed),
            Some(_) => {}
            None if now >= entry.expires_at => return Err(LedgerError::CodeExpired),
            None => entry.payment = Some(payment),
        }
        let card = entry.card.clone();
        self.card(&card).cloned().ok_or(LedgerError::NotFound)
    }

    pub(super) fn balance(&self, card: &str) -> Result<Card, LedgerError> {
        self.reachable()?;
        self.card(card).cloned().ok_or(LedgerError::NotFound)
    }

    pub(super) fn hold(&mut self, card_id: &str, amount: i64) -> Result<CardHold, LedgerError> {
        self.reachable()?;
        let (payment, payment_amount) = self.paying()?;
        if amount <= 0 {
            return Err(not_allowed(format!(
                "amount must be above zero, got {amount}"
            )));
        }
        let card = self.card(card_id).cloned().ok_or(LedgerError::NotFound)?;
        if let Some(row) = self
            .holds
            .iter()
            .find(|row| row.payment == payment && row.hold.card == card_id)
        {
            return if row.hold.amount == amount {
                Ok(row.hold.clone())
            } else {
                Err(not_allowed(format!(
                    "the payment already holds {} on card {card_id}",
                    row.hold.amount
                )))
            };
        }
        if card.status != CardStatus::Active {
            return Err(LedgerError::NotActive(card.status));
        }
        if card.program.kind == ProgramKind::Coupon && card.held > 0 {
            return Err(not_allowed(format!(
                "coupon {card_id} is being used by another payment"
            )));
        }
        let bound = units_for(&card.program, payment_amount);
        let held: i64 = self
            .holds
            .iter()
            .filter(|row| row.payment == payment && row.hold.status != HoldStatus::Released)
            .filter(|row| same_unit(self.card(&row.hold.card), &card.program))
            .map(|row| row.hold.amount)
            .sum();
        if held + amount > bound {
            return Err(not_allowed(format!(
                "holding {amount} more than the payment's {bound}"
            )));
        }
        if card.balance < amount {
            return Err(LedgerError::Insufficient(card.balance));
        }
        let stored = self.card_mut(card_id)?;
        stored.balance -= amount;
        stored.held += amount;
        let hold = CardHold {
            id: format!("hold_{}", self.holds.len() + 1),
            card: card_id.to_owned(),
            amount,
            status: HoldStatus::Held,
            credited: 0,
        };
        self.holds.push(HoldRow {
            payment,
            hold: hold.clone(),
            retired: 0,
        });
        Ok(hold)
    }

    pub(super) fn capture(&mut self, hold: &str) -> Result<CardHold, LedgerError> {
        self.settle(hold, HoldStatus::Captured)
    }

    pub(super) fn release(&mut self, hold: &str) -> Result<CardHold, LedgerError> {
        self.settle(hold, HoldStatus::Released)
    }

    /// Moves a held hold to `to`; the same move again answers the hold.
    fn settle(&mut self, hold: &str, to: HoldStatus) -> Result<CardHold, LedgerError> {
        self.reachable()?;
        let payment = self.settling()?;
        let row = self.hold_row(&payment, hold)?;
        if row.hold.status == to {
            return Ok(row.hold.clone());
        }
        if row.hold.status != HoldStatus::Held {
            return Err(not_allowed(format!(
                "hold {hold} is {:?}, not held",
                row.hold.status
            )));
        }
        row.hold.status = to;
        let answer = row.hold.clone();
        let card = self.card_mut(&answer.card)?;
        card.held -= answer.amount;
        if to == HoldStatus::Released {
            card.balance += answer.amount;
        }
        if to == HoldStatus::Captured && card.program.kind == ProgramKind::Coupon {
            // Used once: the rest goes back to the promotion.
            let rest = std::mem::take(&mut card.balance);
            card.status = CardStatus::Closed;
            self.hold_row(&payment, hold)?.retired = rest;
        }
        Ok(answer)
    }

    pub(super) fn credit(
        &mut self,
        hold: &str,
        amount: i64,
        now: u64,
    ) -> Result<CardHold, LedgerError> {
        self.reachable()?;
        let (payment, key, limit) = match &self.operation {
            Some(
                Operation::Refund {
                    payment,
                    refund,
                    amount,
                }
                | Operation::QueryRefund {
                    payment,
                    refund,
                    amount,
                },
            ) => (payment.clone(), refund.clone(), Some(*amount)),
            Some(Operation::Cancel { payment }) => {
                (payment.clone(), format!("cancel:{payment}"), None)
            }
            _ => {
                return Err(not_allowed(
                    "value is credited back only by refund, query-refund and cancel",
                ));
            }
        };
        if let Some(done) = self.credits.iter().find(|c| c.key == key && c.hold == hold) {
            return if done.amount == amount {
                Ok(done.answer.clone())
            } else {
                Err(not_allowed(format!(
                    "this operation already credited {} on hold {hold}",
                    done.amount
                )))
            };
        }
        let current = self.hold_row(&payment, hold)?.hold.clone();
        if amount <= 0 {
            return Err(not_allowed(format!(
                "amount must be above zero, got {amount}"
            )));
        }
        if current.status != HoldStatus::Captured {
            return Err(not_allowed(format!(
                "hold {hold} is {:?}: only captured value is credited back",
                current.status
            )));
        }
        let left = current.amount - current.credited;
        if amount > left {
            return Err(not_allowed(format!(
                "crediting {amount} of hold {hold}, which has {left} left"
            )));
        }
        let coupon = self
            .card(&current.card)
            .is_some_and(|c| c.program.kind == ProgramKind::Coupon);
        if coupon && amount != left {
            return Err(not_allowed(format!(
                "a coupon's discount comes back whole: {left}"
            )));
        }
        match limit {
            Some(refund_amount) => {
                let program = &self
                    .card(&current.card)
                    .ok_or(LedgerError::NotFound)?
                    .program;
                let bound = units_for(program, refund_amount);
                let credited: i64 = self
                    .credits
                    .iter()
                    .filter(|c| c.key == key)
                    .map(|c| c.amount)
                    .sum();
                if credited + amount > bound {
                    return Err(not_allowed(format!(
                        "crediting {amount} more than the refund's {bound}"
                    )));
                }
            }
            None if amount != left => {
                return Err(not_allowed(format!(
                    "a cancel credits captured value back in full: {left}"
                )));
            }
            None => {}
        }
        let row = self.hold_row(&payment, hold)?;
        row.hold.credited += amount;
        let retired = row.retired;
        let answer = row.hold.clone();
        let card = self.card_mut(&answer.card)?;
        if !coupon {
            card.balance += amount;
        } else if card.expires_at.is_some_and(|end| end <= now) {
            // Past its validity: what came back goes to the promotion too.
        } else {
            card.balance += amount + retired;
            card.status = CardStatus::Active;
        }
        self.credits.push(Credit {
            key,
            hold: hold.to_owned(),
            amount,
            answer: answer.clone(),
        });
        Ok(answer)
    }

    pub(super) fn holds(&self) -> Result<Vec<CardHold>, LedgerError> {
        self.reachable()?;
        match self.operation.as_ref().and_then(Operation::payment) {
            Some(payment) => Ok(self.holds_of(payment)),
            None => Err(not_allowed("no payment is being called")),
        }
    }
}

/// What `amount` minor units of the programme's currency come to in the
/// card's unit: themselves, or on a punch card the uses that pay for them.
fn units_for(program: &Program, amount: i64) -> i64 {
    match (program.kind, program.covers_up_to) {
        (ProgramKind::Punch, Some(covers)) if covers > 0 => {
            amount / covers + i64::from(amount % covers != 0)
        }
        _ => amount,
    }
}

/// Whether holds on cards of these programmes share one bound: value in
/// money does, a punch card's uses do not add up with it.
fn same_unit(card: Option<&Card>, program: &Program) -> bool {
    let punch = |p: &Program| p.kind == ProgramKind::Punch;
    card.is_some_and(|c| punch(&c.program) == punch(program))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Host;
    use crate::testing::{FakeHost, pay_request};
    use crate::types::Scene;

    const CODE: &str = "880000000000000001";

    fn gift() -> Program {
        program("gift", ProgramKind::Gift, "CNY")
    }

    fn host() -> FakeHost {
        FakeHost::new()
            .with_card(card("card_1", &gift(), 5_000))
            .with_payment_code(CODE, "card_1")
    }

    fn paying(host: &FakeHost, order: &str, amount: i64) -> PayRequest {
        let request = pay_request(order, amount, "CNY", Scene::Barcode);
        host.set_operation(Operation::pay(&request));
        request
    }

    fn payment_ref(request: &PayRequest) -> PaymentRef {
        PaymentRef {
            payment_id: request.payment_id.clone(),
            merchant_order_no: request.merchant_order_no.clone(),
            channel_order_no: None,
            amount: request.amount,
            currency: request.currency.clone(),
            scene: request.scene,
        }
    }

    fn refund(request: &PayRequest, id: &str, amount: i64) -> RefundRequest {
        RefundRequest {
            refund_id: id.to_owned(),
            merchant_refund_no: id.to_owned(),
            payment: payment_ref(request),
            amount,
            reason: None,
        }
    }

    fn refused(result: Result<CardHold, LedgerError>) -> bool {
        matches!(result, Err(LedgerError::NotAllowed(_)))
    }

    #[test]
    fn a_code_is_bound_to_the_first_payment_and_expires() {
        let host = host();
        paying(&host, "A1", 100);
        assert_eq!(host.ledger_card_by_code(CODE).unwrap().id, "card_1");
        assert_eq!(host.ledger_card_by_code(CODE).unwrap().id, "card_1");
        paying(&host, "A2", 100);
        assert_eq!(host.ledger_card_by_code(CODE), Err(LedgerError::CodeUsed));
        assert_eq!(
            host.ledger_card_by_code("889999999999999999"),
            Err(LedgerError::NotFound)
        );
        let late = host.with_payment_code("880000000000000002", "card_1");
        late.advance_millis(PAYMENT_CODE_VALIDITY_MILLIS);
        assert_eq!(
            late.ledger_card_by_code("880000000000000002"),
            Err(LedgerError::CodeExpired)
        );
        late.set_operation(Operation::Callback);
        assert!(matches!(
            late.ledger_card_by_code(CODE),
            Err(LedgerError::NotAllowed(_))
        ));
    }

    #[test]
    fn a_hold_is_one_per_payment_and_card_within_the_payment() {
        let host = host();
        assert!(refused(host.ledger_hold("card_1", 100)), "no operation yet");
        paying(&host, "A1", 1_200);
        let hold = host.ledger_hold("card_1", 1_200).unwrap();
        assert_eq!(host.ledger_hold("card_1", 1_200).unwrap(), hold);
        assert!(refused(host.ledger_hold("card_1", 1_000)));
        let stored = host.card("card_1");
        assert_eq!((stored.balance, stored.held), (3_800, 1_200));
        assert_eq!(host.ledger_hold("card_x", 1), Err(LedgerError::NotFound));

        host.set_card(card("card_2", &gift(), 10_000));
        assert!(refused(host.ledger_hold("card_2", 1)), "beyond the payment");
        paying(&host, "A2", 20_000);
        assert_eq!(
            host.ledger_hold("card_2", 20_000),
            Err(LedgerError::Insufficient(10_000))
        );
        assert!(refused(host.ledger_hold("card_2", 0)));
        host.set_card(Card {
            status: CardStatus::Frozen,
            ..card("card_3", &gift(), 1)
        });
        assert_eq!(
            host.ledger_hold("card_3", 1),
            Err(LedgerError::NotActive(CardStatus::Frozen))
        );
        assert_eq!(host.card("card_2").balance, 10_000, "nothing moved");
    }

    #[test]
    fn a_punch_hold_is_bounded_by_the_uses_that_cover_the_payment() {
        let coffee = punch_program("coffee", "CNY", "coffee", 1_000);
        let host = FakeHost::new().with_card(card("punch", &coffee, 10));
        paying(&host, "A1", 2_500);
        assert!(refused(host.ledger_hold("punch", 4)));
        assert_eq!(host.ledger_hold("punch", 3).unwrap().amount, 3);
    }

    #[test]
    fn capture_and_release_reach_only_held_holds_of_the_payment() {
        let host = host();
        let first = paying(&host, "A1", 1_000);
        let hold = host.ledger_hold("card_1", 1_000).unwrap();
        let captured = host.ledger_capture(&hold.id).unwrap();
        assert_eq!(captured.status, HoldStatus::Captured);
        assert_eq!(host.ledger_capture(&hold.id).unwrap(), captured);
        assert!(refused(host.ledger_release(&hold.id)));
        assert_eq!(host.card("card_1").held, 0);
        assert_eq!(host.card("card_1").balance, 4_000);

        let second = paying(&host, "A2", 500);
        assert_eq!(host.ledger_capture(&hold.id), Err(LedgerError::NotFound));
        let other = host.ledger_hold("card_1", 500).unwrap();
        host.set_operation(Operation::close(&payment_ref(&second)));
        assert_eq!(
            host.ledger_release(&other.id).unwrap().status,
            HoldStatus::Released
        );
        assert!(refused(host.ledger_capture(&other.id)));
        assert_eq!(host.card("card_1").balance, 4_000);
        host.set_operation(Operation::refund(&refund(&first, "r1", 100)));
        assert!(refused(host.ledger_capture(&hold.id)));
    }

    #[test]
    fn credits_are_bounded_by_the_refund_and_what_was_captured() {
        let host = host();
        let payment = paying(&host, "A1", 1_000);
        let hold = host.ledger_hold("card_1", 1_000).unwrap();
        assert!(refused(host.ledger_credit(&hold.id, 1)), "not during pay");
        host.ledger_capture(&hold.id).unwrap();

        host.set_operation(Operation::refund(&refund(&payment, "r1", 600)));
        assert!(
            refused(host.ledger_credit(&hold.id, 700)),
            "beyond the refund"
        );
        let credited = host.ledger_credit(&hold.id, 600).unwrap();
        assert_eq!(credited.credited, 600);
        assert_eq!(host.ledger_credit(&hold.id, 600).unwrap(), credited);
        assert!(refused(host.ledger_credit(&hold.id, 500)), "another amount");
        assert_eq!(host.card("card_1").balance, 4_600);

        host.set_operation(Operation::refund(&refund(&payment, "r2", 600)));
        assert!(
            refused(host.ledger_credit(&hold.id, 600)),
            "beyond captured"
        );
        assert_eq!(host.ledger_credit(&hold.id, 400).unwrap().credited, 1_000);
        assert_eq!(host.card("card_1").balance, 5_000);
        assert_eq!(
            host.ledger_holds().unwrap(),
            vec![host.holds_of("pay_A1")[0].clone()]
        );
    }

    #[test]
    fn a_cancel_credits_captured_value_back_in_full() {
        let host = host();
        let payment = paying(&host, "A1", 1_000);
        let hold = host.ledger_hold("card_1", 1_000).unwrap();
        host.ledger_capture(&hold.id).unwrap();
        host.set_operation(Operation::cancel(&payment_ref(&payment)));
        assert!(refused(host.ledger_credit(&hold.id, 999)));
        assert_eq!(host.ledger_credit(&hold.id, 1_000).unwrap().credited, 1_000);
        assert_eq!(host.card("card_1").balance, 5_000);
    }

    #[test]
    fn a_coupon_is_held_for_one_payment_used_once_and_given_back_whole() {
        let welcome = coupon_program("welcome", "CNY", CouponTerms::percent_off(1_000, 2_000));
        let host = FakeHost::new().with_card(coupon("cpn_1", &welcome, "member-1"));
        assert_eq!(host.card("cpn_1").balance, 2_000, "funded at its cap");
        let first = paying(&host, "A1", 1_200);
        let hold = host.ledger_hold("cpn_1", 1_200).unwrap();
        paying(&host, "A2", 500);
        assert!(
            refused(host.ledger_hold("cpn_1", 500)),
            "one payment at a time"
        );
        host.set_operation(Operation::pay(&first));
        host.ledger_capture(&hold.id).unwrap();
        let used = host.card("cpn_1");
        assert_eq!(
            (used.status, used.balance, used.held),
            (CardStatus::Closed, 0, 0)
        );
        paying(&host, "A3", 500);
        assert_eq!(
            host.ledger_hold("cpn_1", 500),
            Err(LedgerError::NotActive(CardStatus::Closed))
        );

        host.set_operation(Operation::refund(&refund(&first, "r1", 1_200)));
        assert!(refused(host.ledger_credit(&hold.id, 600)), "not a part");
        host.ledger_credit(&hold.id, 1_200).unwrap();
        let back = host.card("cpn_1");
        assert_eq!((back.status, back.balance), (CardStatus::Active, 2_000));
    }

    #[test]
    fn a_coupon_refunded_past_its_validity_stays_closed_with_nothing() {
        let five = coupon_program("five", "CNY", CouponTerms::amount_off(500));
        let host = FakeHost::new().with_card(Card {
            expires_at: Some(10_000),
            ..coupon("cpn_1", &five, "member-1")
        });
        let payment = paying(&host, "A1", 500);
        let hold = host.ledger_hold("cpn_1", 500).unwrap();
        host.ledger_capture(&hold.id).unwrap();
        host.set_now_millis(10_000);
        host.set_operation(Operation::refund(&refund(&payment, "r1", 500)));
        assert_eq!(host.ledger_credit(&hold.id, 500).unwrap().credited, 500);
        let after = host.card("cpn_1");
        assert_eq!((after.status, after.balance), (CardStatus::Closed, 0));
    }

    #[test]
    fn an_unavailable_ledger_moves_nothing() {
        let host = host();
        paying(&host, "A1", 1_000);
        host.set_ledger_unavailable(Some("database down"));
        let down = LedgerError::Unavailable("database down".into());
        assert_eq!(host.ledger_hold("card_1", 1_000), Err(down.clone()));
        assert_eq!(host.ledger_holds(), Err(down));
        host.set_ledger_unavailable(None);
        assert_eq!(host.ledger_holds(), Ok(vec![]));
        assert_eq!(host.card("card_1").balance, 5_000);
    }
}
