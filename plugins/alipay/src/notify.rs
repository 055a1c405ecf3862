//! Alipay's asynchronous notification (`trade_status_sync`): a form POST
//! signed with Alipay's key. Verify, interpret, answer the bare `success`.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::params::parse_form;
use paycore_plugin_sdk::types::{
    CallContext, CallbackEvent, CallbackOutcome, ChannelError, Failure, HttpRequest, HttpResponse,
    LogLevel, PaymentUpdate, Scene,
};

use crate::sign;
use crate::wire::{self, CURRENCY};

/// Anything but these seven characters makes Alipay retry.
const ACK: &str = "success";

pub fn handle(
    host: &dyn Host,
    ctx: &CallContext,
    request: &HttpRequest,
) -> Result<CallbackOutcome, ChannelError> {
    let params = parse_form(&request.body);
    if let Err(why) = verify(host, ctx, &params) {
        host.log(
            LogLevel::Warn,
            &format!("rejected an Alipay notification: {why}"),
        );
        // The order the notice claims, read without trusting it: the host
        // may only query that payment, never apply the notice.
        let claim = params
            .iter()
            .find(|(k, _)| k == "out_trade_no")
            .map(|(_, v)| v.clone());
        return Ok(CallbackOutcome::rejected(text(401, "failure")).with_unverified_claim(claim));
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    // A refund changes the trade's refund_fee, and Alipay tells it with the
    // same notice; paycore learns refunds from their own answers and queries.
    let event = if get("refund_fee").is_some() || get("out_biz_no").is_some() {
        CallbackEvent::Ignored
    } else {
        let out_trade_no = get("out_trade_no").ok_or_else(|| malformed("no out_trade_no"))?;
        let status = get("trade_status").ok_or_else(|| malformed("no trade_status"))?;
        // Notices come for QR/page/app/JSAPI trades: WAIT_BUYER_PAY is pending.
        let status = wire::trade_status(status, Scene::Qrcode)
            .ok_or_else(|| malformed(&format!("unknown trade_status `{status}`")))?;
        let amount = get("total_amount").ok_or_else(|| malformed("no total_amount"))?;
        CallbackEvent::Payment(PaymentUpdate {
            merchant_order_no: out_trade_no.to_owned(),
            channel_order_no: get("trade_no").map(str::to_owned),
            status,
            amount: wire::fen(amount).map_err(|_| malformed("unreadable total_amount"))?,
            currency: CURRENCY.to_owned(),
        })
    };
    Ok(CallbackOutcome::accepted(event, text(200, ACK)))
}

/// The signature, and that the notice is for this channel's app: a notice
/// signed by Alipay for another merchant's app is not ours to apply.
fn verify(host: &dyn Host, ctx: &CallContext, params: &[(String, String)]) -> Result<(), String> {
    let signature = params
        .iter()
        .find(|(k, _)| k == "sign")
        .map(|(_, v)| v.as_str())
        .ok_or("no sign parameter")?;
    sign::verify(host, sign::notify_content(params).as_bytes(), signature)?;
    let app_id = params
        .iter()
        .find(|(k, _)| k == "app_id")
        .map(|(_, v)| v.as_str());
    match (app_id, ctx.setting("app_id")) {
        (Some(theirs), Some(ours)) if theirs == ours => Ok(()),
        (theirs, _) => Err(format!("app_id {theirs:?} is not this channel's")),
    }
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
/// Alipay then retries and the operator sees it.
fn malformed(why: &str) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(
        "malformed_callback",
        format!("unreadable Alipay notification: {why}"),
    ))
}
