//! The API's payment and refund objects, built from stored rows. Used by the
//! HTTP layer and by webhooks, so both always show the same thing.

use crate::store::{PaymentRecord, RefundRecord};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    pub id: String,
    pub merchant_order_no: String,
    pub status: String,
    pub scene: String,
    pub wallet: String,
    pub amount: i64,
    pub currency: String,
    pub refunded_amount: i64,
    pub channel: String,
    pub plugin: PluginRef,
    pub channel_order_no: Option<String>,
    pub action: Option<Value>,
    pub failure: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
    pub metadata: Value,
    /// Present when the host refused a channel's answer and a person should look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_reason: Option<String>,
    /// Each channel the payment was sent to, oldest first:
    /// `{channel, plugin: {name, version}, outcome, failure?}`.
    pub attempts: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct PluginRef {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefundView {
    pub id: String,
    pub payment_id: String,
    pub merchant_refund_no: String,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub status: String,
    pub channel_refund_no: Option<String>,
    pub failure: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
}

fn json_column(text: &Option<String>) -> Option<Value> {
    text.as_deref().and_then(|t| serde_json::from_str(t).ok())
}

impl From<&PaymentRecord> for PaymentView {
    fn from(p: &PaymentRecord) -> Self {
        PaymentView {
            id: p.id.clone(),
            merchant_order_no: p.merchant_order_no.clone(),
            status: p.status.clone(),
            scene: p.scene.clone(),
            wallet: p.wallet.clone(),
            amount: p.amount,
            currency: p.currency.clone(),
            refunded_amount: p.refunded_amount,
            channel: p.channel_id.clone(),
            plugin: PluginRef {
                name: p.plugin_name.clone(),
                version: p.plugin_version.clone(),
            },
            channel_order_no: p.channel_order_no.clone(),
            action: json_column(&p.action),
            failure: json_column(&p.failure),
            created_at: p.created_at.clone(),
            updated_at: p.updated_at.clone(),
            metadata: serde_json::from_str(&p.metadata)
                .unwrap_or(Value::Object(Default::default())),
            review_reason: p.review_reason.clone(),
            attempts: serde_json::from_str(&p.attempts).unwrap_or(Value::Array(Vec::new())),
        }
    }
}

impl From<&RefundRecord> for RefundView {
    fn from(r: &RefundRecord) -> Self {
        RefundView {
            id: r.id.clone(),
            payment_id: r.payment_id.clone(),
            merchant_refund_no: r.merchant_refund_no.clone(),
            amount: r.amount,
            currency: r.currency.clone(),
            reason: r.reason.clone(),
            status: r.status.clone(),
            channel_refund_no: r.channel_refund_no.clone(),
            failure: json_column(&r.failure),
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
        }
    }
}
