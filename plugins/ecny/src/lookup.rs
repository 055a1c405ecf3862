//! Finding a payment or a refund again by its `req_date` + `req_seq_id`
//! (scanpay/query, scanpay/refundquery) and reading what Huifu says became
//! of it.

use paycore_plugin_sdk::types::{
    ChannelError, PaymentRef, PaymentResult, PaymentStatus, RefundRef, RefundResult, RefundStatus,
    Scene,
};

use crate::canon::Data;
use crate::codes::{ACCEPTED, NOT_FOUND, SUCCESS};
use crate::gateway::{Answer, Endpoint, Gateway};
use crate::ops::paid;

/// What a query found.
pub enum Found {
    /// The transaction, with its state in `trans_stat`.
    Transaction(Answer),
    /// `23000001`: Huifu has no transaction by that date and number.
    Nothing(Answer),
}

/// The payment, by the payment's `req_date` and `req_seq_id` (and
/// Huifu's `hf_seq_id` when the pay call learned it).
pub fn payment(
    gateway: &Gateway<'_>,
    payment: &PaymentRef,
    req_date: &str,
) -> Result<Found, ChannelError> {
    let mut data = Data::new();
    data.set("huifu_id", gateway.huifu_id);
    data.set("org_req_date", req_date);
    data.set("org_req_seq_id", &payment.merchant_order_no);
    if let Some(hf_seq_id) = &payment.channel_order_no {
        data.set("org_hf_seq_id", hf_seq_id);
    }
    query(gateway, Endpoint::Query, &data)
}

/// A refund, by the refund's own `req_date` and `req_seq_id`.
pub fn refund(
    gateway: &Gateway<'_>,
    req_seq_id: &str,
    hf_seq_id: Option<&str>,
    req_date: &str,
) -> Result<Found, ChannelError> {
    let mut data = Data::new();
    data.set("huifu_id", gateway.huifu_id);
    data.set("org_req_date", req_date);
    data.set("org_req_seq_id", req_seq_id);
    if let Some(hf_seq_id) = hf_seq_id {
        data.set("org_hf_seq_id", hf_seq_id);
    }
    query(gateway, Endpoint::RefundQuery, &data)
}

fn query(gateway: &Gateway<'_>, endpoint: Endpoint, data: &Data) -> Result<Found, ChannelError> {
    let answer = gateway.call(endpoint, data)?;
    match answer.resp_code() {
        SUCCESS | ACCEPTED => Ok(Found::Transaction(answer)),
        NOT_FOUND => Ok(Found::Nothing(answer)),
        // The query failed, which says nothing about the transaction.
        _ => Err(answer.unknown("query_failed", "Huifu did not answer the query; ask again")),
    }
}

/// Huifu's number for the queried transaction.
fn hf_seq_id(answer: &Answer, known: Option<&String>) -> Option<String> {
    answer
        .get("org_hf_seq_id")
        .or(answer.get("hf_seq_id"))
        .map(str::to_owned)
        .or_else(|| known.cloned())
}

/// A queried payment as paycore's payment result.
pub fn payment_result(
    answer: &Answer,
    payment: &PaymentRef,
) -> Result<PaymentResult, ChannelError> {
    // Whatever its state, an answer about another amount is not believed.
    answer.check_amount("trans_amt", payment.amount)?;
    let hf_seq_id = hf_seq_id(answer, payment.channel_order_no.as_ref());
    match answer.trans_stat() {
        Some("S") => Ok(paid(hf_seq_id, answer.amount("trans_amt")?)),
        // Still with the payer (a barcode's password, `password_trade` Y),
        // or not scanned yet; `I` (initial) is rare and settles later.
        Some("P" | "I") if payment.scene == Scene::Qrcode => Ok(PaymentResult::status_only(
            PaymentStatus::Pending,
            hf_seq_id,
        )),
        Some("P" | "I") => Ok(PaymentResult::status_only(
            PaymentStatus::Processing,
            hf_seq_id,
        )),
        Some("F") => Ok(PaymentResult {
            failure: Some(answer.failure("declined", "the payment failed at Huifu")),
            ..PaymentResult::status_only(PaymentStatus::Failed, hf_seq_id)
        }),
        Some(other) => Err(answer.malformed(&format!("unknown trans_stat `{other}`"))),
        None => Err(answer.malformed("the query's answer has no trans_stat")),
    }
}

/// A queried refund as paycore's refund result.
pub fn refund_result(answer: &Answer, refund: &RefundRef) -> Result<RefundResult, ChannelError> {
    answer.check_amount("ord_amt", refund.amount)?;
    let hf_seq_id = hf_seq_id(answer, refund.channel_refund_no.as_ref());
    let (status, amount, failure) = match answer.trans_stat() {
        Some("S") => (
            RefundStatus::Succeeded,
            Some(answer.amount("ord_amt")?),
            None,
        ),
        Some("P" | "I") => (RefundStatus::Processing, None, None),
        Some("F") => (
            RefundStatus::Failed,
            None,
            Some(answer.failure("refund_failed", "the refund failed at Huifu")),
        ),
        Some(other) => return Err(answer.malformed(&format!("unknown trans_stat `{other}`"))),
        None => return Err(answer.malformed("the query's answer has no trans_stat")),
    };
    Ok(RefundResult {
        status,
        channel_refund_no: hf_seq_id,
        amount,
        failure,
    })
}
