//! Coupons as a tender for their discount: each condition they pay under
//! (an order in the goods, its minimum spend, their days and hours, their
//! stores, the exact discount, an active coupon within its validity), each
//! refusal moving nothing; used once; given back only by a whole refund or
//! a cancel.

mod support;

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::testing::{FakeHost, Operation, coupon};
use paycore_plugin_sdk::types::*;
use support::*;

/// A host with `program`'s coupon `cpn_1`, held by the member, and a
/// payment code for it.
fn host_with_coupon(program: &Program) -> FakeHost {
    host_with(coupon("cpn_1", program, MEMBER))
}

/// 5.00 off lunch for two at 15.00 each, by the coupon's payment code
/// (which pays one payment only).
fn lunch(order: &str) -> PayRequest {
    ordering(barcode(order, 500), &[(2, 1_500, 0)], None)
}

/// Paid with the coupon in the member's own session (jsapi).
fn member(order: &str, amount: i64) -> PayRequest {
    jsapi(order, amount, "cpn_1", MEMBER)
}

/// Whether the coupon is as it was issued: active, its value whole.
fn untouched(host: &FakeHost, value: i64) {
    let card = host.card("cpn_1");
    assert_eq!(
        (card.status, card.balance, card.held),
        (CardStatus::Active, value, 0)
    );
}

#[test]
fn a_coupon_pays_its_discount_once_and_is_closed() {
    let host = host_with_coupon(&five_off());
    let request = lunch("A1");
    let result = pay(&host, &request).unwrap();
    assert_eq!(result.status, PaymentStatus::Succeeded);
    assert_eq!(result.amount, Some(500));
    let holds = host.holds_of(&request.payment_id);
    assert_eq!(result.channel_order_no, Some(holds[0].id.clone()));
    assert_eq!(holds[0].status, HoldStatus::Captured);
    let used = host.card("cpn_1");
    assert_eq!(
        (used.status, used.balance, used.held),
        (CardStatus::Closed, 0, 0)
    );

    // The same payment again is a replay; another is a second use.
    assert_eq!(pay(&host, &request).unwrap(), result);
    let again = ordering(jsapi("A2", 500, "cpn_1", MEMBER), &[(2, 1_500, 0)], None);
    assert_eq!(failed(pay(&host, &again)), "declined:card_closed");
}

#[test]
fn the_order_must_be_sent_and_reach_the_minimum_spend() {
    let host = host_with_coupon(&five_off());
    let bare = member("A1", 500);
    assert_eq!(failed(pay(&host, &bare)), "declined:coupon_needs_order");
    let small = ordering(member("A2", 500), &[(2, 1_500, 1)], None);
    let err = pay(&host, &small).unwrap_err();
    assert_eq!(err.failure().code, "below_min_spend");
    assert!(
        err.failure().message.contains("at least 30.00"),
        "{}",
        err.failure().message
    );
    assert!(host.holds_of(&small.payment_id).is_empty());
    untouched(&host, 500);
}

#[test]
fn outside_its_days_and_hours_it_does_not_pay() {
    let lunchtime = coupon_program_of(CouponTerms::amount_off(500).outside_window());
    let host = host_with_coupon(&lunchtime);
    assert_eq!(
        failed(pay(&host, &lunch("A1"))),
        "declined:outside_coupon_hours"
    );
    untouched(&host, 500);
}

#[test]
fn only_in_the_stores_it_names() {
    let host = host_with_coupon(&eighth_off());
    let elsewhere = ordering(member("A1", 1_000), &[(1, 8_000, 0)], Some("s009"));
    assert_eq!(
        failed(pay(&host, &elsewhere)),
        "declined:store_not_eligible"
    );
    let unnamed = ordering(member("A2", 1_000), &[(1, 8_000, 0)], None);
    assert_eq!(failed(pay(&host, &unnamed)), "declined:store_not_eligible");
    untouched(&host, 2_000);
    // 12.5 % of 80.00 is 10.00.
    let here = ordering(member("A3", 1_000), &[(1, 8_000, 0)], Some("s001"));
    assert_eq!(pay(&host, &here).unwrap().amount, Some(1_000));
    let used = host.card("cpn_1");
    assert_eq!(
        (used.status, used.balance),
        (CardStatus::Closed, 0),
        "the rest retired"
    );
}

#[test]
fn the_amount_must_be_the_discount_it_gives() {
    let host = host_with_coupon(&eighth_off());
    // 12.5 % of 99.99 is 12.49875: 12.49 off.
    let wrong = ordering(member("A1", 1_250), &[(1, 9_999, 0)], Some("s002"));
    let err = pay(&host, &wrong).unwrap_err();
    assert!(matches!(&err, ChannelError::InvalidRequest(_)), "{err:?}");
    assert_eq!(err.failure().code, "coupon_amount_mismatch");
    assert!(
        err.failure().message.contains("12.49"),
        "{}",
        err.failure().message
    );
    untouched(&host, 2_000);
    // Above the cap: 12.5 % of 400.00 is 50.00, at most 20.00.
    let capped = ordering(member("A2", 2_000), &[(4, 10_000, 0)], Some("s002"));
    assert_eq!(pay(&host, &capped).unwrap().amount, Some(2_000));
}

#[test]
fn an_expired_or_frozen_coupon_does_not_pay() {
    let host = host_with_coupon(&five_off());
    host.set_card(Card {
        expires_at: Some(host.now_millis()),
        ..coupon("cpn_1", &five_off(), MEMBER)
    });
    assert_eq!(failed(pay(&host, &lunch("A1"))), "declined:card_expired");
    host.set_card(Card {
        status: CardStatus::Frozen,
        ..coupon("cpn_1", &five_off(), MEMBER)
    });
    let by_member = ordering(jsapi("A2", 500, "cpn_1", MEMBER), &[(2, 1_500, 0)], None);
    assert_eq!(failed(pay(&host, &by_member)), "declined:card_frozen");
}

#[test]
fn in_the_member_s_session_it_is_theirs_only() {
    let host = host_with_coupon(&five_off());
    let theirs = ordering(
        jsapi("A1", 500, "cpn_1", "member-2"),
        &[(2, 1_500, 0)],
        None,
    );
    assert_eq!(failed(pay(&host, &theirs)), "declined:card_not_found");
    let mine = ordering(jsapi("A2", 500, "cpn_1", MEMBER), &[(2, 1_500, 0)], None);
    assert_eq!(pay(&host, &mine).unwrap().status, PaymentStatus::Succeeded);
}

#[test]
fn only_a_whole_refund_gives_it_back_and_it_pays_again() {
    let host = host_with_coupon(&eighth_off());
    let first = ordering(member("A1", 1_000), &[(1, 8_000, 0)], Some("s001"));
    pay(&host, &first).unwrap();
    let part = refund_request(&first, "R1", 400);
    assert_eq!(
        failed(refund(&host, &part)),
        "declined:partial_refund_of_coupon"
    );
    assert_eq!(host.card("cpn_1").status, CardStatus::Closed);

    let whole = refund_request(&first, "R2", 1_000);
    let result = refund(&host, &whole).unwrap();
    assert_eq!(result.status, RefundStatus::Succeeded);
    assert_eq!(result.amount, Some(1_000));
    untouched(&host, 2_000);
    // Asked again, the same credit answers the same.
    assert_eq!(query_refund(&host, &refund_ref(&whole)).unwrap(), result);

    let second = ordering(member("A2", 1_500), &[(1, 12_000, 0)], Some("s002"));
    assert_eq!(pay(&host, &second).unwrap().amount, Some(1_500));
}

#[test]
fn a_cancel_gives_it_back_and_a_close_leaves_it_unused() {
    let host = host_with_coupon(&five_off());
    let paid = lunch("A1");
    pay(&host, &paid).unwrap();
    let cancelled = cancel(&host, &payment_ref(&paid)).unwrap();
    assert_eq!(cancelled.status, PaymentStatus::Cancelled);
    untouched(&host, 500);

    // A pay call cut off after its hold: closing the payment releases it.
    let cut_off = lunch("A2");
    host.set_operation(Operation::pay(&cut_off));
    host.ledger_hold("cpn_1", 500).unwrap();
    assert_eq!(
        close(&host, &payment_ref(&cut_off)).unwrap().status,
        PaymentStatus::Closed
    );
    untouched(&host, 500);
}

#[test]
fn query_finishes_a_cut_off_use_and_meanwhile_no_other_payment_has_it() {
    let host = host_with_coupon(&eighth_off());
    let cut_off = ordering(member("A1", 1_000), &[(1, 8_000, 0)], Some("s001"));
    host.set_operation(Operation::pay(&cut_off));
    host.ledger_hold("cpn_1", 1_000).unwrap();
    let other = ordering(member("A2", 1_000), &[(1, 8_000, 0)], Some("s001"));
    assert_eq!(failed(pay(&host, &other)), "declined:coupon_in_use");
    assert!(host.holds_of(&other.payment_id).is_empty());
    let settled = query(&host, &payment_ref(&cut_off)).unwrap();
    assert_eq!(settled.status, PaymentStatus::Succeeded);
    let used = host.card("cpn_1");
    assert_eq!(
        (used.status, used.balance, used.held),
        (CardStatus::Closed, 0, 0)
    );
}

fn coupon_program_of(terms: CouponTerms) -> Program {
    paycore_plugin_sdk::testing::coupon_program("lunchtime", "CNY", terms)
}

/// What another payment does to the host meanwhile.
type Meanwhile = Box<dyn FnOnce(&FakeHost)>;

/// The host as another payment races this one: the coupon is read free,
/// and by the time this payment holds it the other has it (or used it).
struct Raced {
    host: FakeHost,
    /// Runs once, right after the coupon was read.
    meanwhile: std::cell::RefCell<Option<Meanwhile>>,
}

impl Raced {
    fn after_read(&self) {
        if let Some(other) = self.meanwhile.borrow_mut().take() {
            other(&self.host);
        }
    }
}

impl Host for Raced {
    fn http_send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.host.http_send(request)
    }
    fn sign(&self, key: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.host.sign(key, alg, data)
    }
    fn verify(
        &self,
        key: &str,
        alg: Algorithm,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        self.host.verify(key, alg, data, signature)
    }
    fn decrypt(
        &self,
        key: &str,
        alg: Algorithm,
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.host.decrypt(key, alg, nonce, aad, ciphertext)
    }
    fn log(&self, level: LogLevel, message: &str) {
        self.host.log(level, message)
    }
    fn now_millis(&self) -> u64 {
        self.host.now_millis()
    }
    fn ledger_card_by_code(&self, code: &str) -> Result<Card, LedgerError> {
        self.host.ledger_card_by_code(code)
    }
    fn ledger_balance(&self, card: &str) -> Result<Card, LedgerError> {
        let read = self.host.ledger_balance(card);
        self.after_read();
        read
    }
    fn ledger_hold(&self, card: &str, amount: i64) -> Result<CardHold, LedgerError> {
        self.host.ledger_hold(card, amount)
    }
    fn ledger_capture(&self, hold: &str) -> Result<CardHold, LedgerError> {
        self.host.ledger_capture(hold)
    }
    fn ledger_release(&self, hold: &str) -> Result<CardHold, LedgerError> {
        self.host.ledger_release(hold)
    }
    fn ledger_credit(&self, hold: &str, amount: i64) -> Result<CardHold, LedgerError> {
        self.host.ledger_credit(hold, amount)
    }
    fn ledger_holds(&self) -> Result<Vec<CardHold>, LedgerError> {
        self.host.ledger_holds()
    }
}

#[test]
fn a_coupon_taken_between_its_reading_and_its_hold_is_declined() {
    use paycore_plugin_card::CardChannel;
    use paycore_plugin_sdk::Channel;
    use paycore_plugin_sdk::testing::call_context;
    let mine = ordering(member("A1", 1_000), &[(1, 8_000, 0)], Some("s001"));
    let theirs = ordering(member("A2", 1_000), &[(1, 8_000, 0)], Some("s001"));
    for (use_it, want) in [(false, "coupon_in_use"), (true, "card_closed")] {
        let (theirs, back) = (theirs.clone(), mine.clone());
        let raced = Raced {
            host: host_with_coupon(&eighth_off()),
            meanwhile: std::cell::RefCell::new(Some(Box::new(move |host: &FakeHost| {
                host.set_operation(Operation::pay(&theirs));
                let hold = host.ledger_hold("cpn_1", 1_000).unwrap();
                if use_it {
                    host.ledger_capture(&hold.id).unwrap();
                }
                host.set_operation(Operation::pay(&back));
            }))),
        };
        raced.host.set_operation(Operation::pay(&mine));
        let err = CardChannel
            .pay(&raced, &call_context(&[]), mine.clone())
            .unwrap_err();
        assert!(matches!(&err, ChannelError::Declined(_)), "{err:?}");
        assert_eq!(err.failure().code, want);
        assert!(raced.host.holds_of(&mine.payment_id).is_empty());
    }
}
