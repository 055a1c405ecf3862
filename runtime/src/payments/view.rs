//! The API's payment and refund objects, built from stored rows. Used by the
//! HTTP layer and by webhooks, so both always show the same thing.

use crate::store::{PaymentRecord, RefundRecord};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The payment object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentView {
    #[schema(value_type = String, example = "pay_2b4db50cb919454d02574393")]
    pub id: crate::domain::PaymentId,
    pub merchant_order_no: String,
    pub status: crate::domain::PaymentStatus,
    /// As requested: a `checkout` payment stays `checkout` whichever scene
    /// its channel was asked for.
    pub scene: crate::domain::Scene,
    /// Null while a `checkout` payment waits for the payer to choose.
    pub wallet: Option<String>,
    pub amount: i64,
    #[schema(value_type = String)]
    pub currency: crate::money::Currency,
    pub refunded_amount: i64,
    /// The tenant's channel that served the payment (null while a
    /// `checkout` payment waits for the payer to choose a wallet).
    pub channel: Option<String>,
    pub plugin: Option<PluginRef>,
    pub channel_order_no: Option<String>,
    /// What the client must do next, if anything. A `checkout` payment's is
    /// always the redirect to paycore's page while it is open.
    #[schema(value_type = Option<ActionView>)]
    pub action: Option<Value>,
    #[schema(value_type = Option<FailureView>)]
    pub failure: Option<Value>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub metadata: Value,
    /// Present when the host refused a channel's answer and a person should look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_reason: Option<String>,
    /// Each channel the payment was sent to, oldest first:
    /// `{channel, plugin: {name, version}, outcome, failure?}`.
    pub attempts: Value,
    /// A combined order's tenders, in order; absent for a single-tender
    /// payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenders: Option<Vec<TenderView>>,
    /// Whether it is a combined order, so that its tenders are looked up.
    #[serde(skip)]
    #[schema(ignore)]
    pub(crate) combined: bool,
}

/// One tender of a combined order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenderView {
    /// `coupon`, `card` or `external` (the wallet payment).
    #[serde(rename = "type")]
    pub kind: String,
    /// Minor units this tender pays.
    pub amount: i64,
    /// A coupon's or card's: `pending` (not held yet), `held`, `succeeded`
    /// (spent), `released` (given back: the order did not succeed),
    /// `failed` (refused: the order failed on it) or `skipped` (never
    /// held: the order failed first). The external tender's: the payment
    /// statuses, or `skipped` when it was never sent.
    #[schema(example = "succeeded")]
    pub status: String,
    /// The tenant's channel that serves it.
    pub channel: Option<String>,
    /// The coupon or card (`cpn_…`, `card_…`), once known.
    pub card_id: Option<String>,
    /// A card's or coupon's balance now, in its units.
    pub balance: Option<i64>,
    /// The external tender's scene and wallet.
    pub scene: Option<crate::domain::Scene>,
    pub wallet: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PluginRef {
    pub name: String,
    pub version: String,
}

/// The refund object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefundView {
    #[schema(value_type = String, example = "re_6f1c0e3b9a7d4e2f8a1b2c3d")]
    pub id: crate::domain::RefundId,
    #[schema(value_type = String)]
    pub payment_id: crate::domain::PaymentId,
    pub merchant_refund_no: String,
    pub amount: i64,
    #[schema(value_type = String)]
    pub currency: crate::money::Currency,
    pub reason: Option<String>,
    pub status: crate::domain::RefundStatus,
    pub channel_refund_no: Option<String>,
    #[schema(value_type = Option<FailureView>)]
    pub failure: Option<Value>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// A combined order's refund: each tender's part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenders: Option<Vec<RefundTenderView>>,
}

/// One tender's part of a combined order's refund.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefundTenderView {
    /// The tender's index in the order's `tenders`.
    pub position: i64,
    /// `coupon`, `card` or `external`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Minor units this tender gives back (a coupon: its discount, as the
    /// coupon itself).
    pub amount: i64,
    /// The wallet's part: the refund's status at its channel. A coupon's or
    /// card's: `succeeded` once credited back (after the wallet's part
    /// succeeded), `failed` if the refund failed, else `pending`.
    pub status: crate::domain::RefundStatus,
}

// The views carry actions and failures as the JSON stored with the
// payment; these types are what writes that JSON (`payments::convert`) and
// what the API document says it is, so the two cannot drift.

/// What the client does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Action)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionView {
    /// Show this content as a QR code.
    QrCode { qr_code: String },
    /// Pass these parameters to the wallet's SDK (JSAPI, app).
    ClientParams {
        params: std::collections::BTreeMap<String, String>,
    },
    /// Send the payer to this URL.
    Redirect { url: String },
}

/// Why a payment or refund failed, in paycore's words and the channel's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Failure)]
pub struct FailureView {
    pub code: String,
    pub message: String,
    pub channel_code: Option<String>,
    pub channel_message: Option<String>,
}

/// A webhook's body (docs/webhooks.md): the event, and the payment or
/// refund object as the API shows it.
#[derive(Debug, Serialize)]
pub struct WebhookBody<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub created_at: String,
    pub data: Value,
}

impl WebhookBody<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a webhook body serializes")
    }
}

impl ActionView {
    /// As stored with the payment and shown by the API.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("an action serializes")
    }
}

impl FailureView {
    /// As stored with the payment or refund and shown by the API.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a failure serializes")
    }
}

fn json_column(text: &Option<String>) -> Option<Value> {
    text.as_deref().and_then(|t| serde_json::from_str(t).ok())
}

impl From<&PaymentRecord> for PaymentView {
    fn from(p: &PaymentRecord) -> Self {
        let assigned = !p.channel_id.is_empty();
        // The merchant's instruction for a checkout payment is "send the
        // payer to paycore's page"; what the channel returned (a QR code,
        // wallet parameters) is the page's business.
        let action = match &p.checkout_url {
            Some(_) if p.status.is_final() => None,
            Some(url) => Some(ActionView::Redirect { url: url.clone() }.to_json()),
            None => json_column(&p.action),
        };
        PaymentView {
            id: p.id.clone(),
            merchant_order_no: p.merchant_order_no.clone(),
            status: p.status,
            scene: match p.checkout_url {
                Some(_) => crate::domain::Scene::Checkout,
                None => p.scene,
            },
            wallet: assigned.then(|| p.wallet.clone()),
            amount: p.amount,
            currency: p.currency.clone(),
            refunded_amount: p.refunded_amount,
            channel: assigned.then(|| p.channel_id.clone()),
            plugin: assigned.then(|| PluginRef {
                name: p.plugin_name.clone(),
                version: p.plugin_version.clone(),
            }),
            channel_order_no: p.channel_order_no.clone(),
            action,
            failure: json_column(&p.failure),
            created_at: p.created_at.clone(),
            updated_at: p.updated_at.clone(),
            metadata: serde_json::from_str(&p.metadata)
                .unwrap_or(Value::Object(Default::default())),
            review_reason: p.review_reason.clone(),
            attempts: serde_json::from_str(&p.attempts).unwrap_or(Value::Array(Vec::new())),
            tenders: None,
            combined: p.is_combined(),
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
            status: r.status,
            channel_refund_no: r.channel_refund_no.clone(),
            failure: json_column(&r.failure),
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
            tenders: None,
        }
    }
}
