//! UnionPay's notifications (backUrl): a form POST with a query answer's
//! fields, signed like an answer with the certificate it carries. Verify,
//! interpret, answer HTTP 200 — anything else makes UnionPay send it again.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::params::parse_form;
use paycore_plugin_sdk::types::{
    CallContext, CallbackEvent, CallbackOutcome, ChannelError, Failure, HttpRequest, HttpResponse,
    LogLevel, PaymentStatus, PaymentUpdate, RefundStatus, RefundUpdate,
};

use crate::codes::{self, Class};
use crate::gateway::Answer;
use crate::message;
use crate::sign;
use crate::wire::{self, CURRENCY, CURRENCY_CODE};

pub fn handle(
    host: &dyn Host,
    ctx: &CallContext,
    request: &HttpRequest,
) -> Result<CallbackOutcome, ChannelError> {
    let mer_id = ctx.require_setting("mer_id")?;
    let fields = parse_form(&request.body);
    if let Err(why) = verify(host, mer_id, &fields) {
        host.log(
            LogLevel::Warn,
            &format!("rejected a UnionPay notification: {why}"),
        );
        return Ok(CallbackOutcome::rejected(text(401, "unverified"))
            .with_unverified_claim(claim(&fields)));
    }
    let notice = Answer { fields };
    let event = match notice.get("txnType") {
        Some("01") => consume(host, &notice)?,
        Some("04") => refund(&notice)?,
        // Reversals (99) and anything else: paycore learns those from the
        // answers to its own cancel and close, and from queries.
        _ => CallbackEvent::Ignored,
    };
    Ok(CallbackOutcome::accepted(event, text(200, "ok")))
}

/// Signed by UnionPay, about this merchant, and unambiguous.
fn verify(host: &dyn Host, mer_id: &str, fields: &[(String, String)]) -> Result<(), String> {
    let mut names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("field `{}` appears twice", twice[0]));
    }
    sign::verify(host, fields)?;
    // UnionPay signs every merchant's notices with the same certificate:
    // another merchant's is not ours to apply.
    match message::field(fields, "merId") {
        Some(theirs) if theirs == mer_id => Ok(()),
        theirs => Err(format!("merId {theirs:?} is not this channel's")),
    }
}

/// The merchant order number an unverified notice claims, read without
/// trusting it: a consume's or reversal's orderId. A refund's orderId is
/// the refund's own number, which names no payment.
fn claim(fields: &[(String, String)]) -> Option<String> {
    match message::field(fields, "txnType") {
        None | Some("01") | Some("99") => message::field(fields, "orderId")
            .filter(|o| !o.is_empty())
            .map(str::to_owned),
        Some(_) => None,
    }
}

fn consume(host: &dyn Host, notice: &Answer) -> Result<CallbackEvent, ChannelError> {
    if notice.resp_code() != codes::SUCCESS {
        // UnionPay notifies successful consumes only; whatever this says,
        // the query that paycore sends settles it.
        host.log(
            LogLevel::Info,
            &format!(
                "ignored a consume notification with respCode {}",
                notice.resp_code()
            ),
        );
        return Ok(CallbackEvent::Ignored);
    }
    Ok(CallbackEvent::Payment(PaymentUpdate {
        merchant_order_no: order_id(notice)?,
        channel_order_no: notice.get("queryId").map(str::to_owned),
        status: PaymentStatus::Succeeded,
        amount: amount(notice)?,
        currency: CURRENCY.to_owned(),
    }))
}

fn refund(notice: &Answer) -> Result<CallbackEvent, ChannelError> {
    let status = match codes::class(notice.resp_code()) {
        Class::Success => RefundStatus::Succeeded,
        Class::Unknown => RefundStatus::Processing,
        Class::Rejected | Class::Refused => RefundStatus::Failed,
    };
    Ok(CallbackEvent::Refund(RefundUpdate {
        merchant_refund_no: order_id(notice)?,
        channel_refund_no: notice.get("queryId").map(str::to_owned),
        status,
        amount: amount(notice)?,
    }))
}

fn order_id(notice: &Answer) -> Result<String, ChannelError> {
    notice
        .get("orderId")
        .map(str::to_owned)
        .ok_or_else(|| malformed("no orderId"))
}

/// `txnAmt` in fen, of CNY: the host compares it with the payment's.
fn amount(notice: &Answer) -> Result<i64, ChannelError> {
    if notice
        .get("currencyCode")
        .is_some_and(|c| c != CURRENCY_CODE)
    {
        return Err(malformed("a currencyCode other than 156"));
    }
    notice
        .get("txnAmt")
        .and_then(wire::parse_txn_amt)
        .ok_or_else(|| malformed("no txnAmt in fen"))
}

fn text(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![(
            "Content-Type".to_owned(),
            "text/plain;charset=utf-8".to_owned(),
        )],
        body: body.as_bytes().to_vec(),
    }
}

/// A verified notice we cannot read is an error, not an ignored event:
/// UnionPay then sends it again and the operator sees it.
fn malformed(why: &str) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(
        "malformed_callback",
        format!("unreadable UnionPay notification: {why}"),
    ))
}
