//! WeChat Pay v3 callbacks: verify the platform's signature over
//! `timestamp\nnonce\nbody\n`, decrypt `resource` with the APIv3 key through
//! the host, interpret, answer.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{
    Algorithm, CallContext, CallbackEvent, CallbackOutcome, ChannelError, Failure, HttpRequest,
    HttpResponse, LogLevel, PaymentUpdate, RefundUpdate,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::sign::{APIV3_KEY, Signed};
use crate::wire::{self, Refund, Transaction};

/// A callback signed longer ago than this is refused as a possible replay.
const MAX_SKEW_SECONDS: i64 = 300;

#[derive(Deserialize)]
struct Notice {
    event_type: String,
    resource: Resource,
}

#[derive(Deserialize)]
struct Resource {
    algorithm: String,
    ciphertext: String,
    #[serde(default)]
    associated_data: String,
    nonce: String,
}

pub fn handle(
    host: &dyn Host,
    ctx: &CallContext,
    request: &HttpRequest,
) -> Result<CallbackOutcome, ChannelError> {
    let platform_serial = ctx.require_setting("platform_serial")?;
    if let Err(why) = verify(host, platform_serial, request) {
        host.log(
            LogLevel::Warn,
            &format!("rejected a WeChat Pay callback: {why}"),
        );
        // No claim: the order number is inside the encrypted resource, and
        // an unverified body is not worth the APIv3 key's time.
        return Ok(CallbackOutcome::rejected(HttpResponse::json(
            401,
            r#"{"code":"FAIL","message":"签名验证失败"}"#,
        )));
    }
    let notice: Notice = parse(&request.body)?;
    let event = if notice.event_type.starts_with("TRANSACTION.") {
        let t: Transaction = parse(&decrypt(host, &notice.resource)?)?;
        let amount = t
            .amount
            .clone()
            .ok_or_else(|| malformed("the transaction has no amount".into()))?;
        CallbackEvent::Payment(PaymentUpdate {
            status: t
                .status()
                .map_err(|e| malformed(e.failure().message.clone()))?,
            merchant_order_no: t.out_trade_no,
            channel_order_no: t.transaction_id,
            amount: amount.total,
            currency: amount.currency,
        })
    } else if notice.event_type.starts_with("REFUND.") {
        let r: Refund = parse(&decrypt(host, &notice.resource)?)?;
        CallbackEvent::Refund(RefundUpdate {
            status: wire::refund_status(&r.status)
                .ok_or_else(|| malformed(format!("unknown refund status `{}`", r.status)))?,
            merchant_refund_no: r.out_refund_no,
            channel_refund_no: r.refund_id,
            amount: r.amount.refund,
        })
    } else {
        CallbackEvent::Ignored
    };
    // 204 without a body is "received" in API v3.
    Ok(CallbackOutcome::accepted(
        event,
        HttpResponse {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        },
    ))
}

fn verify(host: &dyn Host, platform_serial: &str, request: &HttpRequest) -> Result<(), String> {
    let signed = Signed {
        serial: request.header("Wechatpay-Serial"),
        timestamp: request.header("Wechatpay-Timestamp"),
        nonce: request.header("Wechatpay-Nonce"),
        signature: request.header("Wechatpay-Signature"),
    };
    signed.verify(host, platform_serial, &request.body)?;
    let ts: i64 = signed
        .timestamp
        .unwrap_or_default()
        .parse()
        .map_err(|_| "the timestamp is not a number".to_owned())?;
    let now = i64::try_from(host.now_millis() / 1000).unwrap_or(i64::MAX);
    if (now - ts).abs() > MAX_SKEW_SECONDS {
        return Err(format!("signed at {ts}, {}s away from now", now - ts));
    }
    Ok(())
}

/// The key never enters the plugin: the host opens the resource.
fn decrypt(host: &dyn Host, resource: &Resource) -> Result<Vec<u8>, ChannelError> {
    if resource.algorithm != "AEAD_AES_256_GCM" {
        return Err(malformed(format!(
            "unsupported resource algorithm {}",
            resource.algorithm
        )));
    }
    let ciphertext = STANDARD
        .decode(&resource.ciphertext)
        .map_err(|_| malformed("the ciphertext is not base64".into()))?;
    host.decrypt(
        APIV3_KEY,
        Algorithm::Aes256Gcm,
        resource.nonce.as_bytes(),
        resource.associated_data.as_bytes(),
        &ciphertext,
    )
    .map_err(|e| {
        malformed(format!(
            "cannot decrypt the resource with `{APIV3_KEY}`: {e}"
        ))
    })
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ChannelError> {
    serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))
}

/// A signed callback we cannot read is an error, not an ignored event:
/// WeChat then retries and the operator sees it.
fn malformed(why: String) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(
        "malformed_callback",
        format!("unreadable WeChat Pay callback: {why}"),
    ))
}
