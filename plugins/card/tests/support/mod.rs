//! The host's side for the card plugin: `FakeHost`'s ledger with a few
//! programmes, and each operation called as the host calls it (the
//! operation set first, so the ledger's scope is the one it would be).
// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use paycore_plugin_card::CardChannel;
use paycore_plugin_sdk::Channel;
use paycore_plugin_sdk::testing::{
    FakeHost, Operation, call_context, card, coupon_program, pay_request, program, punch_program,
};
use paycore_plugin_sdk::types::*;

pub const CODE: &str = "880000000000000001";
pub const MEMBER: &str = "member-1";

pub fn stored_value() -> Program {
    program("member", ProgramKind::StoredValue, "CNY")
}

pub fn gift() -> Program {
    program("gift", ProgramKind::Gift, "CNY")
}

pub fn voucher() -> Program {
    program("voucher", ProgramKind::Voucher, "CNY")
}

/// 5.00 off an order of 30.00 or more.
pub fn five_off() -> Program {
    coupon_program(
        "five-off",
        "CNY",
        CouponTerms::amount_off(500).with_min_spend(3_000),
    )
}

/// 12.5 % off, at most 20.00, in stores s001 and s002.
pub fn eighth_off() -> Program {
    coupon_program(
        "eighth-off",
        "CNY",
        CouponTerms::percent_off(1_250, 2_000).with_stores(&["s001", "s002"]),
    )
}

/// `request` for an order of `lines` (quantity, unit price, discount), in
/// `store`.
pub fn ordering(request: PayRequest, lines: &[(u32, i64, i64)], store: Option<&str>) -> PayRequest {
    PayRequest {
        goods: lines
            .iter()
            .enumerate()
            .map(|(i, (quantity, unit_price, discount))| GoodsItem {
                id: format!("sku-{i}"),
                name: format!("item {i}"),
                quantity: *quantity,
                unit_price: *unit_price,
                discount: *discount,
            })
            .collect(),
        store_id: store.map(str::to_owned),
        ..request
    }
}

/// Ten coffees, each paying for up to 10.00.
pub fn coffee() -> Program {
    punch_program("coffee", "CNY", "coffee", 1_000)
}

/// The member's card, named to them, with `balance` on it.
pub fn member_card(id: &str, program: &Program, balance: i64) -> Card {
    Card {
        holder: Some(MEMBER.to_owned()),
        ..card(id, program, balance)
    }
}

/// A host whose ledger has `card` and a fresh payment code for it.
pub fn host_with(card: Card) -> FakeHost {
    let id = card.id.clone();
    FakeHost::new().with_card(card).with_payment_code(CODE, &id)
}

pub fn barcode(order: &str, amount: i64) -> PayRequest {
    PayRequest {
        wallet: "card".to_owned(),
        auth_code: Some(CODE.to_owned()),
        ..pay_request(order, amount, "CNY", Scene::Barcode)
    }
}

pub fn jsapi(order: &str, amount: i64, card: &str, member: &str) -> PayRequest {
    PayRequest {
        wallet: "card".to_owned(),
        payer: Some(Payer {
            app_id: None,
            open_id: Some(member.to_owned()),
            buyer_id: Some(card.to_owned()),
        }),
        ..pay_request(order, amount, "CNY", Scene::Jsapi)
    }
}

pub fn payment_ref(request: &PayRequest) -> PaymentRef {
    PaymentRef {
        payment_id: request.payment_id.clone(),
        merchant_order_no: request.merchant_order_no.clone(),
        channel_order_no: None,
        amount: request.amount,
        currency: request.currency.clone(),
        scene: request.scene,
    }
}

pub fn refund_request(payment: &PayRequest, no: &str, amount: i64) -> RefundRequest {
    RefundRequest {
        refund_id: format!("ref_{no}"),
        merchant_refund_no: no.to_owned(),
        payment: payment_ref(payment),
        amount,
        reason: None,
    }
}

pub fn refund_ref(request: &RefundRequest) -> RefundRef {
    RefundRef {
        refund_id: request.refund_id.clone(),
        merchant_refund_no: request.merchant_refund_no.clone(),
        channel_refund_no: None,
        amount: request.amount,
        payment: request.payment.clone(),
    }
}

pub fn pay(host: &FakeHost, request: &PayRequest) -> Result<PaymentResult, ChannelError> {
    host.set_operation(Operation::pay(request));
    CardChannel.pay(host, &call_context(&[]), request.clone())
}

pub fn query(host: &FakeHost, payment: &PaymentRef) -> Result<PaymentResult, ChannelError> {
    host.set_operation(Operation::query(payment));
    CardChannel.query(host, &call_context(&[]), payment.clone())
}

pub fn cancel(host: &FakeHost, payment: &PaymentRef) -> Result<PaymentResult, ChannelError> {
    host.set_operation(Operation::cancel(payment));
    CardChannel.cancel(host, &call_context(&[]), payment.clone())
}

pub fn close(host: &FakeHost, payment: &PaymentRef) -> Result<PaymentResult, ChannelError> {
    host.set_operation(Operation::close(payment));
    CardChannel.close(host, &call_context(&[]), payment.clone())
}

pub fn refund(host: &FakeHost, request: &RefundRequest) -> Result<RefundResult, ChannelError> {
    host.set_operation(Operation::refund(request));
    CardChannel.refund(host, &call_context(&[]), request.clone())
}

pub fn query_refund(host: &FakeHost, refund: &RefundRef) -> Result<RefundResult, ChannelError> {
    host.set_operation(Operation::query_refund(refund));
    CardChannel.query_refund(host, &call_context(&[]), refund.clone())
}

/// `declined:CODE`, `invalid-request:CODE`, … of a failed call.
pub fn failed<T: std::fmt::Debug>(result: Result<T, ChannelError>) -> String {
    let err = result.expect_err("the call must fail");
    let kind = match &err {
        ChannelError::Declined(_) => "declined",
        ChannelError::InvalidRequest(_) => "invalid-request",
        ChannelError::Unavailable(_) => "unavailable",
        ChannelError::OutcomeUnknown(_) => "outcome-unknown",
    };
    format!("{kind}:{}", err.failure().code)
}

/// The card's (available, held) value.
pub fn value(host: &FakeHost, card: &str) -> (i64, i64) {
    let card = host.card(card);
    (card.balance, card.held)
}
