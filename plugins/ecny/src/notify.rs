//! Huifu's notifications (`notify_url`): a form POST of `resp_data` (JSON
//! text) and `sign` over that text exactly as received — no sorting. Only
//! a verified notice about this merchant changes anything; it is answered
//! HTTP 200 with exactly `RECV_ORD_ID_` + its `req_seq_id`, or Huifu sends
//! it again.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::params::parse_form;
use paycore_plugin_sdk::types::{
    CallContext, CallbackEvent, CallbackOutcome, ChannelError, Failure, HttpRequest, HttpResponse,
    LogLevel, PaymentStatus, PaymentUpdate, RefundStatus, RefundUpdate,
};

use crate::fields::Fields;
use crate::sign;
use crate::wire::{self, CURRENCY};

/// What Huifu compares the answer's body with, byte for byte, before the
/// notice's `req_seq_id`.
const ACK_PREFIX: &str = "RECV_ORD_ID_";
/// A refund notice's `trans_type`; payments' are `D_MICROPAY`/`D_NATIVE`.
const REFUND: &str = "TRANS_REFUND";

pub fn handle(
    host: &dyn Host,
    ctx: &CallContext,
    request: &HttpRequest,
) -> Result<CallbackOutcome, ChannelError> {
    let huifu_id = ctx.require_setting("huifu_id")?;
    let form = parse_form(&request.body);
    let notice = match verify(host, huifu_id, &form) {
        Ok(notice) => notice,
        Err(why) => {
            host.log(
                LogLevel::Warn,
                &format!("rejected a Huifu notification: {why}"),
            );
            return Ok(CallbackOutcome::rejected(text(400, "unverified"))
                .with_unverified_claim(claim(&form)));
        }
    };
    let req_seq_id = notice
        .text("req_seq_id")
        .ok_or_else(|| malformed("no req_seq_id"))?;
    let event = match notice.text("trans_type") {
        Some(REFUND) => refund(&notice, req_seq_id)?,
        Some(t) if t.starts_with("D_") => payment(&notice, req_seq_id)?,
        // Another wallet's trade under this merchant: not this channel's.
        Some(_) => CallbackEvent::Ignored,
        None => return Err(malformed("no trans_type")),
    };
    let ack = format!("{ACK_PREFIX}{req_seq_id}");
    Ok(CallbackOutcome::accepted(event, text(200, &ack)))
}

/// The notice's `resp_data`, if Huifu signed exactly that text, the form
/// is unambiguous, and it is about this merchant.
fn verify(host: &dyn Host, huifu_id: &str, form: &[(String, String)]) -> Result<Fields, String> {
    let mut names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("form field `{}` appears twice", twice[0]));
    }
    let resp_data = field(form, "resp_data").ok_or("no resp_data")?;
    let signature = field(form, "sign").ok_or("no sign")?;
    sign::verify(host, resp_data.as_bytes(), signature)?;
    let notice = Fields::parse(resp_data)?;
    // Huifu signs every merchant's notices with the same key: another
    // merchant's is not ours to apply.
    match notice.text("huifu_id") {
        Some(theirs) if theirs == huifu_id => Ok(notice),
        theirs => Err(format!("huifu_id {theirs:?} is not this channel's")),
    }
}

/// The merchant order number an unverified notice claims, read without
/// trusting it: a payment notice's `req_seq_id`. A refund's names the
/// refund, not a payment.
fn claim(form: &[(String, String)]) -> Option<String> {
    let notice = Fields::parse(field(form, "resp_data")?).ok()?;
    if notice.text("trans_type") == Some(REFUND) {
        return None;
    }
    notice.text("req_seq_id").map(str::to_owned)
}

fn payment(notice: &Fields, req_seq_id: &str) -> Result<CallbackEvent, ChannelError> {
    let status = match notice.text("trans_stat") {
        Some("S") => PaymentStatus::Succeeded,
        Some("F") => PaymentStatus::Failed,
        // Not final (Huifu notifies final states): the query settles it.
        Some("P" | "I") => return Ok(CallbackEvent::Ignored),
        other => return Err(malformed(&format!("trans_stat {other:?}"))),
    };
    Ok(CallbackEvent::Payment(PaymentUpdate {
        merchant_order_no: req_seq_id.to_owned(),
        channel_order_no: notice.text("hf_seq_id").map(str::to_owned),
        status,
        amount: amount(notice, "trans_amt")?,
        currency: CURRENCY.to_owned(),
    }))
}

fn refund(notice: &Fields, req_seq_id: &str) -> Result<CallbackEvent, ChannelError> {
    let status = match notice.text("trans_stat") {
        Some("S") => RefundStatus::Succeeded,
        Some("F") => RefundStatus::Failed,
        Some("P" | "I") => RefundStatus::Processing,
        other => return Err(malformed(&format!("trans_stat {other:?}"))),
    };
    Ok(CallbackEvent::Refund(RefundUpdate {
        merchant_refund_no: req_seq_id.to_owned(),
        channel_refund_no: notice.text("hf_seq_id").map(str::to_owned),
        status,
        amount: amount(notice, "ord_amt")?,
    }))
}

/// Amount field `name` in fen, exactly: the host compares it with the
/// payment's (or refund's).
fn amount(notice: &Fields, name: &str) -> Result<i64, ChannelError> {
    notice
        .text(name)
        .and_then(wire::parse_yuan)
        .ok_or_else(|| malformed(&format!("no exact yuan amount in {name}")))
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
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
/// Huifu then sends it again and the operator sees it.
fn malformed(why: &str) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(
        "malformed_callback",
        format!("unreadable Huifu notification: {why}"),
    ))
}
