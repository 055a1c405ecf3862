//! The provider's JSON bodies and their translation to and from the
//! contract's types. Amounts cross the wire as major-unit strings.

use paycore_plugin_sdk::money;
use paycore_plugin_sdk::types::{
    Action, ChannelError, Failure, PayRequest, PaymentRef, PaymentResult, PaymentStatus,
    RefundRequest, RefundResult, RefundStatus, Scene,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct PayBody<'a> {
    out_trade_no: &'a str,
    amount: String,
    currency: &'a str,
    scene: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    notify_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u32>,
}

impl<'a> PayBody<'a> {
    pub fn new(request: &'a PayRequest, notify_url: &'a str) -> Result<Self, ChannelError> {
        Ok(Self {
            out_trade_no: &request.merchant_order_no,
            amount: major(request.amount, &request.currency)?,
            currency: &request.currency,
            scene: request.scene.as_str(),
            auth_code: request.auth_code.as_deref(),
            subject: request.subject.as_deref(),
            notify_url,
            expires_in: request.expires_in,
        })
    }
}

/// Names an order by exactly one of its numbers.
#[derive(Serialize)]
pub struct OrderKey<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    out_trade_no: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trade_no: Option<&'a str>,
}

impl<'a> OrderKey<'a> {
    /// Our order number, which is always known.
    pub fn ours(payment: &'a PaymentRef) -> Self {
        Self {
            out_trade_no: Some(&payment.merchant_order_no),
            trade_no: None,
        }
    }

    /// The provider's number when we have it; ours when the pay call never
    /// told us theirs (it timed out).
    pub fn for_query(payment: &'a PaymentRef) -> Self {
        match payment.channel_order_no.as_deref() {
            Some(trade_no) => Self {
                out_trade_no: None,
                trade_no: Some(trade_no),
            },
            None => Self::ours(payment),
        }
    }
}

#[derive(Serialize)]
pub struct RefundBody<'a> {
    out_trade_no: &'a str,
    out_refund_no: &'a str,
    amount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl<'a> RefundBody<'a> {
    pub fn new(request: &'a RefundRequest) -> Result<Self, ChannelError> {
        Ok(Self {
            out_trade_no: &request.payment.merchant_order_no,
            out_refund_no: &request.merchant_refund_no,
            amount: major(request.amount, &request.payment.currency)?,
            reason: request.reason.as_deref(),
        })
    }
}

#[derive(Serialize)]
pub struct RefundKey<'a> {
    pub out_refund_no: &'a str,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Processing,
    Succeeded,
    Failed,
    Closed,
    Cancelled,
}

impl From<OrderStatus> for PaymentStatus {
    fn from(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Pending => PaymentStatus::Pending,
            OrderStatus::Processing => PaymentStatus::Processing,
            OrderStatus::Succeeded => PaymentStatus::Succeeded,
            OrderStatus::Failed => PaymentStatus::Failed,
            OrderStatus::Closed => PaymentStatus::Closed,
            OrderStatus::Cancelled => PaymentStatus::Cancelled,
        }
    }
}

/// An order as the provider reports it (pay, query, close, cancel).
#[derive(Deserialize)]
pub struct OrderReply {
    trade_no: String,
    out_trade_no: String,
    status: OrderStatus,
    amount: String,
    currency: String,
    qr_code: Option<String>,
    pay_url: Option<String>,
}

impl OrderReply {
    /// The amount and currency are passed on as the provider reported them:
    /// the host compares them with the payment and refuses a mismatch.
    pub fn into_result(
        self,
        merchant_order_no: &str,
        scene: Scene,
    ) -> Result<PaymentResult, ChannelError> {
        if self.out_trade_no != merchant_order_no {
            return Err(mismatch(format!(
                "answer is about order {} instead of {merchant_order_no}",
                self.out_trade_no
            )));
        }
        let amount = reported_minor(&self.amount, &self.currency)?;
        let action = match scene {
            Scene::Qrcode => self.qr_code.map(Action::QrCode),
            Scene::Jsapi | Scene::App | Scene::H5 | Scene::Web => {
                self.pay_url.map(Action::Redirect)
            }
            Scene::Barcode | Scene::Face => None,
        };
        Ok(PaymentResult {
            status: self.status.into(),
            channel_order_no: Some(self.trade_no),
            amount: Some(amount),
            currency: Some(self.currency),
            action,
            failure: None,
        })
    }
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum RefundState {
    Pending,
    Processing,
    Succeeded,
    Failed,
}

/// A refund as the provider reports it (refund, refund_query). A refused
/// refund comes with code `REFUND_FAILED` and `status` `FAILED`.
#[derive(Deserialize)]
pub struct RefundReply {
    code: String,
    message: Option<String>,
    refund_no: Option<String>,
    out_refund_no: String,
    status: RefundState,
    amount: Option<String>,
}

impl RefundReply {
    pub fn into_result(
        self,
        merchant_refund_no: &str,
        currency: &str,
    ) -> Result<RefundResult, ChannelError> {
        if self.out_refund_no != merchant_refund_no {
            return Err(mismatch(format!(
                "answer is about refund {} instead of {merchant_refund_no}",
                self.out_refund_no
            )));
        }
        let amount = self
            .amount
            .as_deref()
            .map(|a| reported_minor(a, currency))
            .transpose()?;
        let (status, failure) = match self.status {
            RefundState::Pending => (RefundStatus::Pending, None),
            RefundState::Processing => (RefundStatus::Processing, None),
            RefundState::Succeeded => (RefundStatus::Succeeded, None),
            RefundState::Failed => {
                let failure =
                    Failure::new("refund_failed", "the sandbox provider refused the refund")
                        .with_channel(&self.code, self.message.as_deref());
                (RefundStatus::Failed, Some(failure))
            }
        };
        Ok(RefundResult {
            status,
            channel_refund_no: self.refund_no,
            amount,
            failure,
        })
    }
}

fn major(minor: i64, currency: &str) -> Result<String, ChannelError> {
    money::to_major_string(minor, currency)
        .map_err(|e| ChannelError::InvalidRequest(Failure::new("invalid_amount", e.to_string())))
}

/// A signed answer with an amount we cannot read exactly: the provider may
/// have acted, so the outcome is unknown rather than failed.
fn reported_minor(amount: &str, currency: &str) -> Result<i64, ChannelError> {
    money::parse_major(amount, currency).map_err(|e| {
        ChannelError::OutcomeUnknown(Failure::new(
            "malformed_answer",
            format!("the sandbox provider reported an unreadable amount: {e}"),
        ))
    })
}

fn mismatch(why: String) -> ChannelError {
    ChannelError::OutcomeUnknown(Failure::new("mismatched_answer", why))
}
