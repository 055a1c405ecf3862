//! Between the plugin contract's types and ours.

use super::request::PaymentRequest;
use super::view::{ActionView, FailureView};
use crate::store::{PaymentRecord, RefundRecord};
use paycore_core::channel;
use serde_json::Value;

pub fn action(a: &channel::Action) -> Value {
    match a {
        channel::Action::QrCode(code) => ActionView::QrCode {
            qr_code: code.clone(),
        },
        channel::Action::ClientParams(params) => ActionView::ClientParams {
            params: params.iter().cloned().collect(),
        },
        channel::Action::Redirect(url) => ActionView::Redirect { url: url.clone() },
    }
    .to_json()
}

pub fn failure(f: &channel::Failure) -> Value {
    FailureView {
        code: f.code.clone(),
        message: f.message.clone(),
        channel_code: f.channel_code.clone(),
        channel_message: f.channel_message.clone(),
    }
    .to_json()
}

/// A failure paycore itself describes (no channel words).
pub fn own_failure(code: &str, message: &str) -> Value {
    FailureView {
        code: code.into(),
        message: message.into(),
        channel_code: None,
        channel_message: None,
    }
    .to_json()
}

pub fn pay_request(p: &PaymentRecord, r: &PaymentRequest) -> channel::PayRequest {
    channel::PayRequest {
        payment_id: p.id.to_string(),
        merchant_order_no: p.merchant_order_no.clone(),
        amount: p.channel_amount(),
        currency: p.currency.to_string(),
        // The stored scene: a checkout payment's is the one its channel is
        // asked for, chosen when the payer picked a wallet.
        scene: p.scene,
        wallet: p.wallet.clone(),
        auth_code: r.auth_code.clone(),
        subject: r.subject.clone(),
        payer: r.payer.as_ref().map(|p| channel::Payer {
            app_id: p.app_id.clone(),
            open_id: p.open_id.clone(),
            buyer_id: p.buyer_id.clone(),
        }),
        goods: r
            .goods
            .iter()
            .map(|g| channel::GoodsItem {
                id: g.id.clone(),
                name: g.name.clone(),
                quantity: g.quantity,
                unit_price: g.unit_price,
                discount: g.discount,
            })
            .collect(),
        receipt_no: r.receipt_no.clone(),
        store_id: r.store_id.clone(),
        terminal_id: r.terminal_id.clone(),
        client_ip: r.client_ip.clone(),
        expires_in: r.expires_in,
        created_millis: p.created_ms,
    }
}

pub fn payment_ref(p: &PaymentRecord) -> channel::PaymentRef {
    channel::PaymentRef {
        payment_id: p.id.to_string(),
        merchant_order_no: p.merchant_order_no.clone(),
        channel_order_no: p.channel_order_no.clone(),
        amount: p.channel_amount(),
        currency: p.currency.to_string(),
        scene: p.scene,
        created_millis: p.created_ms,
    }
}

pub fn refund_request(p: &PaymentRecord, r: &RefundRecord) -> channel::RefundRequest {
    channel::RefundRequest {
        refund_id: r.id.to_string(),
        merchant_refund_no: r.merchant_refund_no.clone(),
        payment: payment_ref(p),
        amount: r.channel_amount(),
        reason: r.reason.clone(),
        created_millis: r.created_ms,
    }
}

pub fn refund_ref(p: &PaymentRecord, r: &RefundRecord) -> channel::RefundRef {
    channel::RefundRef {
        refund_id: r.id.to_string(),
        merchant_refund_no: r.merchant_refund_no.clone(),
        channel_refund_no: r.channel_refund_no.clone(),
        amount: r.channel_amount(),
        payment: payment_ref(p),
        created_millis: r.created_ms,
    }
}
