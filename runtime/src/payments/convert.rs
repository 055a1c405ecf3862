//! Between the plugin contract's types and ours.

use super::request::PaymentRequest;
use crate::domain::{PaymentStatus, RefundStatus};
use crate::plugin_host::wit;
use crate::store::{PaymentRecord, RefundRecord};
use serde_json::{Value, json};

pub fn payment_status(s: wit::PaymentStatus) -> PaymentStatus {
    match s {
        wit::PaymentStatus::Pending => PaymentStatus::Pending,
        wit::PaymentStatus::Processing => PaymentStatus::Processing,
        wit::PaymentStatus::Succeeded => PaymentStatus::Succeeded,
        wit::PaymentStatus::Failed => PaymentStatus::Failed,
        wit::PaymentStatus::Closed => PaymentStatus::Closed,
        wit::PaymentStatus::Cancelled => PaymentStatus::Cancelled,
    }
}

pub fn refund_status(s: wit::RefundStatus) -> RefundStatus {
    match s {
        wit::RefundStatus::Pending => RefundStatus::Pending,
        wit::RefundStatus::Processing => RefundStatus::Processing,
        wit::RefundStatus::Succeeded => RefundStatus::Succeeded,
        wit::RefundStatus::Failed => RefundStatus::Failed,
    }
}

pub fn action(a: &wit::Action) -> Value {
    match a {
        wit::Action::QrCode(code) => json!({ "type": "qr_code", "qr_code": code }),
        wit::Action::ClientParams(params) => {
            let params: serde_json::Map<String, Value> = params
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            json!({ "type": "client_params", "params": params })
        }
        wit::Action::Redirect(url) => json!({ "type": "redirect", "url": url }),
    }
}

pub fn failure(f: &wit::Failure) -> Value {
    json!({ "code": f.code, "message": f.message, "channel_code": f.channel_code, "channel_message": f.channel_message })
}

/// A failure paycore itself describes (no channel words).
pub fn own_failure(code: &str, message: &str) -> Value {
    json!({ "code": code, "message": message, "channel_code": null, "channel_message": null })
}

pub fn pay_request(p: &PaymentRecord, r: &PaymentRequest) -> wit::PayRequest {
    wit::PayRequest {
        payment_id: p.id.clone(),
        merchant_order_no: p.merchant_order_no.clone(),
        amount: p.amount,
        currency: p.currency.clone(),
        // The stored scene: a checkout payment's is the one its channel is
        // asked for, chosen when the payer picked a wallet.
        scene: crate::plugin_host::scene_to_wit(p.scene.parse().unwrap_or(r.scene)),
        wallet: p.wallet.clone(),
        auth_code: r.auth_code.clone(),
        subject: r.subject.clone(),
        payer: r.payer.as_ref().map(|p| wit::Payer {
            app_id: p.app_id.clone(),
            open_id: p.open_id.clone(),
            buyer_id: p.buyer_id.clone(),
        }),
        goods: r
            .goods
            .iter()
            .map(|g| wit::GoodsItem {
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

pub fn payment_ref(p: &PaymentRecord) -> wit::PaymentRef {
    let scene = p.scene.parse().unwrap_or(crate::domain::Scene::Barcode);
    wit::PaymentRef {
        payment_id: p.id.clone(),
        merchant_order_no: p.merchant_order_no.clone(),
        channel_order_no: p.channel_order_no.clone(),
        amount: p.amount,
        currency: p.currency.clone(),
        scene: crate::plugin_host::scene_to_wit(scene),
    }
}

pub fn refund_request(p: &PaymentRecord, r: &RefundRecord) -> wit::RefundRequest {
    wit::RefundRequest {
        refund_id: r.id.clone(),
        merchant_refund_no: r.merchant_refund_no.clone(),
        payment: payment_ref(p),
        amount: r.amount,
        reason: r.reason.clone(),
    }
}

pub fn refund_ref(p: &PaymentRecord, r: &RefundRecord) -> wit::RefundRef {
    wit::RefundRef {
        refund_id: r.id.clone(),
        merchant_refund_no: r.merchant_refund_no.clone(),
        channel_refund_no: r.channel_refund_no.clone(),
        amount: r.amount,
        payment: payment_ref(p),
    }
}
