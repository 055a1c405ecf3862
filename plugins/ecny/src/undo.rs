//! Close and cancel. Huifu closes no e-CNY order ("银联、数字货币订单不支持关单")
//! and has no reversal for scan payments, so neither calls anything but
//! the query and, for a paid payment being cancelled, the refund.

use paycore_plugin_sdk::types::{
    ChannelError, Failure, PaymentRef, PaymentResult, PaymentStatus, RefundStatus,
};

use crate::codes;
use crate::gateway::{Answer, Gateway};
use crate::lookup::{self, Found};
use crate::refund::{self, RefundOrder};
use crate::wire;

/// What a cancel says as the reason of the refund it makes.
const CANCEL_REASON: &str = "cancel";

/// Closes an unpaid payment, which at Huifu means waiting it out: an order
/// past its `time_expire` can no longer be paid, one before it still can.
pub fn close(
    gateway: &Gateway<'_>,
    payment: &PaymentRef,
    req_date: &str,
    created: i64,
) -> Result<PaymentResult, ChannelError> {
    if let Found::Transaction(answer) = lookup::payment(gateway, payment, req_date)? {
        match answer.trans_stat() {
            Some("S") => {
                return Err(ChannelError::Declined(answer.failure(
                    "order_paid",
                    "the order is paid and cannot be closed; refund it instead",
                )));
            }
            Some("P" | "I") => {}
            // Failed (nobody can pay it any more), or a state we cannot
            // read, which the query's own reading refuses.
            _ => return lookup::payment_result(&answer, payment),
        }
    }
    // Not paid. The plugin cannot see the payment's own expiry, only its
    // creation; every order it makes expires within the window.
    let expiry = wire::order_expiry(created, None);
    let now = i64::try_from(gateway.host().now_millis()).unwrap_or(i64::MAX);
    if now >= expiry.saturating_add(wire::CLOCK_ALLOWANCE_MILLIS) {
        return Ok(PaymentResult::status_only(
            PaymentStatus::Closed,
            payment.channel_order_no.clone(),
        ));
    }
    let until = wire::beijing_time(expiry).unwrap_or_default();
    Err(ChannelError::Declined(Failure::new(
        "close_not_supported_before_expiry",
        format!(
            "Huifu cannot close e-CNY orders; this one can be paid until {until} (Beijing time, time_expire) and counts as closed a minute after; nothing was changed"
        ),
    )))
}

/// Gives up on a barcode payment: nothing to undo if Huifu never took it or
/// it failed; refunded in full if it was paid; asked again if the payer is
/// still confirming.
pub fn cancel(
    gateway: &Gateway<'_>,
    payment: &PaymentRef,
    req_date: &str,
) -> Result<PaymentResult, ChannelError> {
    let cancelled =
        || PaymentResult::status_only(PaymentStatus::Cancelled, payment.channel_order_no.clone());
    let answer = match lookup::payment(gateway, payment, req_date)? {
        // Never arrived: nothing was taken. Huifu has no reversal to burn
        // the number with (see the README on a late arrival).
        Found::Nothing(_) => return Ok(cancelled()),
        Found::Transaction(answer) => answer,
    };
    match answer.trans_stat() {
        Some("F") => Ok(cancelled()),
        Some("P" | "I") => Err(ChannelError::OutcomeUnknown(answer.failure(
            "cancel_retry",
            "the payer is still confirming in the e-CNY app; ask for the cancel again",
        ))),
        Some("S") => {
            answer.check_amount("trans_amt", payment.amount)?;
            refund_paid(gateway, payment, req_date, &answer)?;
            Ok(cancelled())
        }
        Some(other) => Err(answer.malformed(&format!("unknown trans_stat `{other}`"))),
        None => Err(answer.malformed("the query's answer has no trans_stat")),
    }
}

/// Refunds a paid payment in full for its cancel: Ok once Huifu accepted
/// the refund or made it.
fn refund_paid(
    gateway: &Gateway<'_>,
    payment: &PaymentRef,
    org_req_date: &str,
    queried: &Answer,
) -> Result<(), ChannelError> {
    let now = i64::try_from(gateway.host().now_millis()).unwrap_or(i64::MAX);
    // A refund is a request of today; the same number on every try of the
    // same cancel, so Huifu makes it once.
    let req_date = wire::beijing_date(now).unwrap_or_default();
    let req_seq_id = wire::cancel_refund_no(&payment.merchant_order_no);
    let hf_seq_id = queried
        .get("org_hf_seq_id")
        .or(queried.get("hf_seq_id"))
        .or(payment.channel_order_no.as_deref());
    let order = RefundOrder {
        req_date: &req_date,
        req_seq_id: &req_seq_id,
        amount: payment.amount,
        org_req_date,
        org_req_seq_id: &payment.merchant_order_no,
        org_hf_seq_id: hf_seq_id,
        reason: Some(CANCEL_REASON),
    };
    let status = match refund::send(gateway, &order) {
        Ok(result) => (result.status, result.failure),
        // A try before made it (its answer was lost): what became of it?
        Err(e) if e.failure().code == codes::DUPLICATE_REQUEST => {
            match lookup::refund(gateway, &req_seq_id, None, &req_date)? {
                Found::Transaction(answer) => refund_state(&answer, payment.amount)?,
                Found::Nothing(answer) => {
                    return Err(answer.unknown(
                        "cancel_retry",
                        "Huifu says the cancel's refund exists and cannot find it; ask for the cancel again",
                    ));
                }
            }
        }
        Err(e) => return Err(e),
    };
    match status {
        (RefundStatus::Succeeded | RefundStatus::Processing | RefundStatus::Pending, _) => Ok(()),
        (RefundStatus::Failed, said) => {
            let mut failure = Failure::new(
                "cancel_refund_failed",
                "the payment is paid and the cancel's refund failed at Huifu: it stays paid",
            );
            failure.channel_code = said.as_ref().and_then(|f| f.channel_code.clone());
            failure.channel_message = said.and_then(|f| f.channel_message);
            Err(ChannelError::Declined(failure))
        }
    }
}

/// The state of a cancel's refund, as the refund query reads it.
fn refund_state(
    answer: &Answer,
    amount: i64,
) -> Result<(RefundStatus, Option<Failure>), ChannelError> {
    answer.check_amount("ord_amt", amount)?;
    match answer.trans_stat() {
        Some("S") => Ok((RefundStatus::Succeeded, None)),
        Some("P" | "I") => Ok((RefundStatus::Processing, None)),
        Some("F") => Ok((
            RefundStatus::Failed,
            Some(answer.failure("refund_failed", "the cancel's refund failed at Huifu")),
        )),
        Some(other) => Err(answer.malformed(&format!("unknown trans_stat `{other}`"))),
        None => Err(answer.malformed("the refund query's answer has no trans_stat")),
    }
}
