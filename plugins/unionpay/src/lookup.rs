//! Finding a transaction again by orderId + txnTime (queryTrans), reading
//! what UnionPay says became of it, and undoing a consume (the reversal,
//! which cancel and close both send).

use paycore_plugin_sdk::types::{
    ChannelError, Failure, PaymentRef, PaymentResult, PaymentStatus, RefundRef, RefundResult,
    RefundStatus, Scene,
};

use crate::codes::{self, Class};
use crate::gateway::{Answer, Endpoint, Gateway, Txn};
use crate::ops::paid;

/// What a query found.
pub enum Found {
    /// The transaction, with its own outcome in `origRespCode`.
    Transaction(Answer),
    /// respCode `34`: UnionPay has no transaction by that orderId + txnTime.
    Nothing(Answer),
}

/// The consume of `payment`.
pub fn payment(
    gateway: &Gateway<'_>,
    payment: &PaymentRef,
    txn_time: &str,
) -> Result<Found, ChannelError> {
    query(
        gateway,
        &payment.merchant_order_no,
        txn_time,
        payment.amount,
    )
}

/// The refund `refund` (its own orderId and txnTime).
pub fn refund(
    gateway: &Gateway<'_>,
    refund: &RefundRef,
    txn_time: &str,
) -> Result<Found, ChannelError> {
    query(gateway, &refund.merchant_refund_no, txn_time, refund.amount)
}

fn query(
    gateway: &Gateway<'_>,
    order_id: &str,
    txn_time: &str,
    amount: i64,
) -> Result<Found, ChannelError> {
    let txn = Txn {
        txn_type: "00",
        txn_sub_type: "00",
        order_id,
        txn_time,
        txn_amt: amount,
        extra: Vec::new(),
    };
    let answer = gateway.call(Endpoint::Query, &txn)?;
    match answer.resp_code() {
        codes::SUCCESS if answer.get("origRespCode").is_some() => Ok(Found::Transaction(answer)),
        codes::SUCCESS => Err(answer.malformed("the query's answer has no origRespCode")),
        codes::NO_SUCH_TRANSACTION => Ok(Found::Nothing(answer)),
        code if codes::class(code) == Class::Rejected => {
            Err(ChannelError::InvalidRequest(answer.failure(
                "channel_rejected",
                "the UnionPay gateway rejected the query",
            )))
        }
        // The query failed, which says nothing about the transaction.
        _ => Err(ChannelError::OutcomeUnknown(answer.failure(
            "query_failed",
            "UnionPay did not answer the query; ask again",
        ))),
    }
}

/// A queried consume as paycore's payment result.
pub fn payment_result(
    answer: &Answer,
    payment: &PaymentRef,
) -> Result<PaymentResult, ChannelError> {
    let code = answer.get("origRespCode").unwrap_or("");
    let query_id = answer.get("queryId").map(str::to_owned);
    match codes::class(code) {
        Class::Success => {
            if answer.get("txnAmt").is_none() {
                return Err(answer.malformed("a paid consume without txnAmt"));
            }
            answer.check_amount(payment.amount)?;
            Ok(paid(query_id, payment.amount))
        }
        // A payer's code being confirmed; a merchant's code not paid yet.
        Class::Unknown if payment.scene == Scene::Qrcode => {
            Ok(PaymentResult::status_only(PaymentStatus::Pending, query_id))
        }
        Class::Unknown => Ok(PaymentResult::status_only(
            PaymentStatus::Processing,
            query_id,
        )),
        // Reversed, revoked or refunded in full: whatever was paid went back.
        _ if code == codes::UNDONE => {
            Ok(PaymentResult::status_only(PaymentStatus::Closed, query_id))
        }
        _ => Ok(PaymentResult {
            failure: Some(answer.orig_failure(false)),
            ..PaymentResult::status_only(PaymentStatus::Failed, query_id)
        }),
    }
}

/// A queried refund as paycore's refund result.
pub fn refund_result(answer: &Answer, refund: &RefundRef) -> Result<RefundResult, ChannelError> {
    let query_id = answer
        .get("queryId")
        .map(str::to_owned)
        .or_else(|| refund.channel_refund_no.clone());
    let (status, amount, failure) = match codes::class(answer.get("origRespCode").unwrap_or("")) {
        Class::Success => {
            answer.check_amount(refund.amount)?;
            (RefundStatus::Succeeded, Some(refund.amount), None)
        }
        Class::Unknown => (RefundStatus::Processing, None, None),
        _ => (RefundStatus::Failed, None, Some(answer.orig_failure(true))),
    };
    Ok(RefundResult {
        status,
        channel_refund_no: query_id,
        amount,
        failure,
    })
}

/// The paid consume's `queryId`, which a refund names as `origQryId`, when
/// the pay call never learned it. Nothing is refunded without it.
pub fn paid_query_id(
    gateway: &Gateway<'_>,
    payment: &PaymentRef,
    txn_time: &str,
) -> Result<String, ChannelError> {
    let not_sent = |e: ChannelError| match e {
        ChannelError::InvalidRequest(f) => ChannelError::InvalidRequest(f),
        // Only the query went out: the refund certainly did not.
        other => ChannelError::Unavailable(Failure::new(
            "refund_not_sent",
            format!(
                "could not learn the payment's queryId, so no refund was sent: {}",
                other.failure().message
            ),
        )),
    };
    let found = self::payment(gateway, payment, txn_time).map_err(not_sent)?;
    if let Found::Transaction(answer) = &found
        && codes::class(answer.get("origRespCode").unwrap_or("")) == Class::Success
    {
        answer.check_amount(payment.amount).map_err(not_sent)?;
        if let Some(query_id) = answer.get("queryId") {
            return Ok(query_id.to_owned());
        }
    }
    Err(ChannelError::InvalidRequest(Failure::new(
        "missing_query_id",
        "UnionPay refunds by the payment's queryId, and states none for this payment: it is not paid there",
    )))
}

/// Reverses (冲正) the consume of `payment`: Ok once UnionPay accepted the
/// reversal or the consume is undone already.
pub fn reverse(
    gateway: &Gateway<'_>,
    payment: &PaymentRef,
    txn_time: &str,
) -> Result<(), ChannelError> {
    let txn = Txn {
        txn_type: "99",
        txn_sub_type: "01",
        order_id: &payment.merchant_order_no,
        txn_time,
        txn_amt: payment.amount,
        extra: Vec::new(),
    };
    let answer = gateway.call(Endpoint::Back, &txn)?;
    if answer.resp_code() == codes::SUCCESS {
        return Ok(());
    }
    // Why not? A reversal repeated after one whose answer was lost is
    // refused (as a duplicate, or its original undone), and a consume that
    // never arrived has nothing to reverse: the consume's state tells.
    match self::payment(gateway, payment, txn_time) {
        Ok(Found::Transaction(q)) if q.get("origRespCode") == Some(codes::UNDONE) => Ok(()),
        Ok(Found::Nothing(_)) if codes::class(answer.resp_code()) == Class::Refused => {
            let (ours, message) = codes::refusal(codes::NO_SUCH_TRANSACTION, false);
            Err(ChannelError::Declined(answer.failure(ours, message)))
        }
        _ => Err(answer.error(false)),
    }
}
