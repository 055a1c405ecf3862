//! Between the plugin contract's types and ours.

use super::request::PaymentRequest;
use crate::store::{PaymentRecord, RefundRecord};
use paycore_core::channel;
use serde_json::{Value, json};

pub fn action(a: &channel::Action) -> Value {
    match a {
        channel::Action::QrCode(code) => json!({ "type": "qr_code", "qr_code": code }),
        channel::Action::ClientParams(params) => {
            let params: serde_json::Map<String, Value> = params
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            json!({ "type": "client_params", "params": params })
        }
        channel::Action::Redirect(url) => json!({ "type": "redirect", "url": url }),
    }
}

pub fn failure(f: &channel::Failure) -> Value {
    json!({ "code": f.code, "message": f.message, "channel_code": f.channel_code, "channel_message": f.channel_message })
}

/// A failure paycore itself describes (no channel words).
pub fn own_failure(code: &str, message: &str) -> Value {
    json!({ "code": code, "message": message, "channel_code": null, "channel_message": null })
}

pub fn pay_request(p: &PaymentRecord, r: &PaymentRequest) -> channel::PayRequest {
    channel::PayRequest {
        payment_id: p.id.clone(),
        merchant_order_no: p.merchant_order_no.clone(),
        amount: p.amount,
        currency: p.currency.clone(),
        // The stored scene: a checkout payment's is the one its channel is
        // asked for, chosen when the payer picked a wallet.
        scene: p.scene.parse().unwrap_or(r.scene),
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
    }
}

pub fn payment_ref(p: &PaymentRecord) -> channel::PaymentRef {
    let scene = p.scene.parse().unwrap_or(crate::domain::Scene::Barcode);
    channel::PaymentRef {
        payment_id: p.id.clone(),
        merchant_order_no: p.merchant_order_no.clone(),
        channel_order_no: p.channel_order_no.clone(),
        amount: p.amount,
        currency: p.currency.clone(),
        scene,
    }
}

pub fn refund_request(p: &PaymentRecord, r: &RefundRecord) -> channel::RefundRequest {
    channel::RefundRequest {
        refund_id: r.id.clone(),
        merchant_refund_no: r.merchant_refund_no.clone(),
        payment: payment_ref(p),
        amount: r.amount,
        reason: r.reason.clone(),
    }
}

pub fn refund_ref(p: &PaymentRecord, r: &RefundRecord) -> channel::RefundRef {
    channel::RefundRef {
        refund_id: r.id.clone(),
        merchant_refund_no: r.merchant_refund_no.clone(),
        channel_refund_no: r.channel_refund_no.clone(),
        amount: r.amount,
        payment: payment_ref(p),
    }
}
