//! What follows a payment: `query` settling what `pay` left, `cancel` and
//! `close` giving value back, `refund` and `query-refund` crediting it,
//! and callbacks, which cards never send.

mod support;

use paycore_plugin_card::CardChannel;
use paycore_plugin_sdk::testing::{FakeHost, Operation, call_context, card};
use paycore_plugin_sdk::types::*;
use paycore_plugin_sdk::{Channel, Host};
use support::*;

/// A host with a 100.00 stored-value card and payment `A1` of `amount`
/// paid from it.
fn paid(amount: i64) -> (FakeHost, PayRequest) {
    let host = host_with(member_card("card_1", &stored_value(), 10_000));
    let request = barcode("A1", amount);
    pay(&host, &request).unwrap();
    (host, request)
}

/// Payment `A1` whose pay call held `amount` and was cut off before
/// capturing it.
fn held(amount: i64) -> (FakeHost, PayRequest) {
    let host = host_with(member_card("card_1", &stored_value(), 10_000));
    let request = barcode("A1", amount);
    host.set_operation(Operation::pay(&request));
    host.ledger_hold("card_1", amount).unwrap();
    (host, request)
}

#[test]
fn a_payment_that_held_nothing_is_not_found() {
    let host = host_with(card("card_1", &gift(), 5_000));
    let never = payment_ref(&barcode("A1", 100));
    let err = query(&host, &never).unwrap_err();
    assert!(matches!(&err, ChannelError::Declined(f) if f.code == "order_not_found"));
}

#[test]
fn query_captures_what_a_cut_off_pay_held() {
    let (host, request) = held(1_500);
    let result = query(&host, &payment_ref(&request)).unwrap();
    assert_eq!(result.status, PaymentStatus::Succeeded);
    assert_eq!(result.amount, Some(1_500));
    assert_eq!(result.currency.as_deref(), Some("CNY"));
    let hold = &host.holds_of(&request.payment_id)[0];
    assert_eq!(result.channel_order_no, Some(hold.id.clone()));
    assert_eq!(hold.status, HoldStatus::Captured);
    assert_eq!(value(&host, "card_1"), (8_500, 0));
    assert_eq!(query(&host, &payment_ref(&request)).unwrap(), result);
}

#[test]
fn query_of_a_paid_payment_succeeds_and_of_a_released_one_is_closed() {
    let (host, request) = paid(1_500);
    let result = query(&host, &payment_ref(&request)).unwrap();
    assert_eq!(result.status, PaymentStatus::Succeeded);

    let (host, request) = held(1_500);
    close(&host, &payment_ref(&request)).unwrap();
    let result = query(&host, &payment_ref(&request)).unwrap();
    assert_eq!(result.status, PaymentStatus::Closed);
    assert_eq!(value(&host, "card_1"), (10_000, 0));
}

#[test]
fn query_with_the_ledger_down_is_unavailable() {
    let (host, request) = held(1_500);
    host.set_ledger_unavailable(Some("database down"));
    assert_eq!(
        failed(query(&host, &payment_ref(&request))),
        "unavailable:ledger_unavailable"
    );
}

#[test]
fn cancel_after_capture_credits_the_value_back() {
    let (host, request) = paid(1_500);
    assert_eq!(value(&host, "card_1"), (8_500, 0));
    let result = cancel(&host, &payment_ref(&request)).unwrap();
    assert_eq!(result.status, PaymentStatus::Cancelled);
    assert_eq!(result.amount, Some(1_500));
    assert_eq!(value(&host, "card_1"), (10_000, 0));
    assert_eq!(host.holds_of(&request.payment_id)[0].credited, 1_500);
    // The host repeats a cancel whose outcome it did not learn.
    assert_eq!(cancel(&host, &payment_ref(&request)).unwrap(), result);
    assert_eq!(value(&host, "card_1"), (10_000, 0));
}

#[test]
fn cancel_releases_what_was_only_held() {
    let (host, request) = held(1_500);
    assert_eq!(value(&host, "card_1"), (8_500, 1_500));
    let result = cancel(&host, &payment_ref(&request)).unwrap();
    assert_eq!(result.status, PaymentStatus::Cancelled);
    assert_eq!(
        host.holds_of(&request.payment_id)[0].status,
        HoldStatus::Released
    );
    assert_eq!(value(&host, "card_1"), (10_000, 0));
}

#[test]
fn cancel_credits_only_what_refunds_left() {
    let (host, request) = paid(1_500);
    refund(&host, &refund_request(&request, "R1", 500)).unwrap();
    cancel(&host, &payment_ref(&request)).unwrap();
    assert_eq!(host.holds_of(&request.payment_id)[0].credited, 1_500);
    assert_eq!(value(&host, "card_1"), (10_000, 0));
}

#[test]
fn close_releases_held_value_and_refuses_a_paid_payment() {
    let (host, request) = held(1_500);
    let result = close(&host, &payment_ref(&request)).unwrap();
    assert_eq!(result.status, PaymentStatus::Closed);
    assert_eq!(value(&host, "card_1"), (10_000, 0));

    let (host, request) = paid(1_500);
    assert_eq!(
        failed(close(&host, &payment_ref(&request))),
        "declined:already_paid"
    );
    assert_eq!(
        host.holds_of(&request.payment_id)[0].status,
        HoldStatus::Captured
    );
    assert_eq!(value(&host, "card_1"), (8_500, 0));
}

#[test]
fn refunds_credit_captured_value_back_up_to_what_was_taken() {
    let (host, request) = paid(1_500);
    let first = refund_request(&request, "R1", 1_000);
    let result = refund(&host, &first).unwrap();
    let hold = &host.holds_of(&request.payment_id)[0];
    assert_eq!(result.status, RefundStatus::Succeeded);
    assert_eq!(result.channel_refund_no, Some(hold.id.clone()));
    assert_eq!(result.amount, Some(1_000));
    assert_eq!(value(&host, "card_1"), (9_500, 0));

    let above = refund_request(&request, "R2", 501);
    assert_eq!(failed(refund(&host, &above)), "declined:exceeds_captured");
    assert_eq!(value(&host, "card_1"), (9_500, 0), "nothing credited");
    let rest = refund_request(&request, "R3", 500);
    assert_eq!(refund(&host, &rest).unwrap().amount, Some(500));
    assert_eq!(value(&host, "card_1"), (10_000, 0));
}

#[test]
fn a_payment_that_took_nothing_has_nothing_to_refund() {
    let (host, request) = held(1_500);
    let err = failed(refund(&host, &refund_request(&request, "R1", 100)));
    assert_eq!(err, "declined:exceeds_captured");
}

#[test]
fn query_refund_makes_the_same_credits_and_answers_the_same() {
    let (host, request) = paid(1_500);
    let first = refund_request(&request, "R1", 600);
    let second = refund_request(&request, "R2", 400);
    let answered = refund(&host, &first).unwrap();
    refund(&host, &second).unwrap();
    assert_eq!(value(&host, "card_1"), (9_500, 0));
    assert_eq!(query_refund(&host, &refund_ref(&first)).unwrap(), answered);
    assert_eq!(value(&host, "card_1"), (9_500, 0), "credited once");
}

#[test]
fn query_refund_finishes_a_refund_whose_call_was_lost() {
    let (host, request) = paid(1_500);
    let lost = refund_request(&request, "R1", 700);
    let result = query_refund(&host, &refund_ref(&lost)).unwrap();
    assert_eq!(result.status, RefundStatus::Succeeded);
    assert_eq!(value(&host, "card_1"), (9_200, 0));
}

#[test]
fn a_punch_payment_gives_its_uses_back_only_whole() {
    let host = FakeHost::new().with_card(member_card("card_1", &coffee(), 10));
    let request = jsapi("C1", 2_500, "card_1", MEMBER);
    pay(&host, &request).unwrap();
    assert_eq!(value(&host, "card_1"), (7, 0));
    let part = refund_request(&request, "R1", 1_000);
    assert_eq!(
        failed(refund(&host, &part)),
        "declined:partial_refund_of_uses"
    );
    assert_eq!(value(&host, "card_1"), (7, 0));
    let whole = refund_request(&request, "R2", 2_500);
    assert_eq!(refund(&host, &whole).unwrap().amount, Some(2_500));
    assert_eq!(value(&host, "card_1"), (10, 0));
    assert_eq!(
        query_refund(&host, &refund_ref(&whole)).unwrap().amount,
        Some(2_500)
    );
    assert_eq!(value(&host, "card_1"), (10, 0));
}

#[test]
fn refund_with_the_ledger_down_is_unavailable_and_credits_nothing() {
    let (host, request) = paid(1_500);
    host.set_ledger_unavailable(Some("database down"));
    let err = failed(refund(&host, &refund_request(&request, "R1", 100)));
    assert_eq!(err, "unavailable:ledger_unavailable");
    host.set_ledger_unavailable(None);
    assert_eq!(value(&host, "card_1"), (8_500, 0));
}

#[test]
fn callbacks_are_never_verified() {
    let host = FakeHost::new();
    let request = HttpRequest::new("POST", "/v1/callbacks/t1/card", "{}");
    let outcome = CardChannel
        .handle_callback(&host, &call_context(&[]), request)
        .unwrap();
    assert!(!outcome.verified);
    assert_eq!(outcome.event, None);
    assert_eq!(outcome.response.status, 404);
    assert_eq!(outcome.unverified_claim, None);
}
