//! The provider's asynchronous notification: verify, interpret, answer.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::money;
use paycore_plugin_sdk::types::{
    Algorithm, CallbackEvent, CallbackOutcome, ChannelError, Failure, HttpRequest, HttpResponse,
    LogLevel, PaymentUpdate,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::client::{API_KEY, SIGNATURE_HEADER};
use crate::wire::OrderStatus;

#[derive(Deserialize)]
struct Notice {
    event: String,
}

/// The order an unverified notice names, if it names one.
#[derive(Deserialize)]
struct Claim {
    out_trade_no: Option<String>,
}

#[derive(Deserialize)]
struct PaymentNotice {
    trade_no: String,
    out_trade_no: String,
    status: OrderStatus,
    amount: String,
    currency: String,
}

pub fn handle(host: &dyn Host, request: &HttpRequest) -> Result<CallbackOutcome, ChannelError> {
    if let Err(why) = verify(host, request) {
        host.log(
            LogLevel::Warn,
            &format!("rejected a sandbox callback: {why}"),
        );
        // Which order the notice claims to be about, read without trusting
        // it: the host may only query that order, never apply the notice.
        let claim = serde_json::from_slice::<Claim>(&request.body)
            .ok()
            .and_then(|c| c.out_trade_no);
        return Ok(CallbackOutcome::rejected(HttpResponse::json(
            401,
            r#"{"code":"BAD_SIGNATURE"}"#,
        ))
        .with_unverified_claim(claim));
    }
    let notice: Notice = parse(&request.body)?;
    // Only payment notices change anything paycore tracks; the provider
    // must still hear SUCCESS for the rest, or it keeps retrying.
    let event = if notice.event.starts_with("payment.") {
        let payment: PaymentNotice = parse(&request.body)?;
        let amount = money::parse_major(&payment.amount, &payment.currency)
            .map_err(|e| malformed(format!("unreadable amount: {e}")))?;
        CallbackEvent::Payment(PaymentUpdate {
            merchant_order_no: payment.out_trade_no,
            channel_order_no: Some(payment.trade_no),
            status: payment.status.into(),
            amount,
            currency: payment.currency,
        })
    } else {
        CallbackEvent::Ignored
    };
    Ok(CallbackOutcome::accepted(
        event,
        HttpResponse::json(200, r#"{"code":"SUCCESS"}"#),
    ))
}

fn verify(host: &dyn Host, request: &HttpRequest) -> Result<(), String> {
    let signature = request
        .header(SIGNATURE_HEADER)
        .ok_or_else(|| format!("no {SIGNATURE_HEADER} header"))?;
    let signature = hex::decode(signature).map_err(|_| "the signature is not hex".to_owned())?;
    match host.verify(API_KEY, Algorithm::HmacSha256, &request.body, &signature) {
        Ok(true) => Ok(()),
        Ok(false) => Err("the signature does not match".to_owned()),
        Err(e) => Err(format!("cannot verify with `{API_KEY}`: {e}")),
    }
}

/// A verified notice we cannot read is an error rather than an ignored
/// event: the provider then retries, and the operator sees it.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ChannelError> {
    serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))
}

fn malformed(why: String) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(
        "malformed_callback",
        format!("cannot read the sandbox provider's notification: {why}"),
    ))
}
