//! A small channel for the sandbox provider's protocol
//! (`docs/sandbox-provider.md`), shared by the deliberately broken plugins.
//! Each broken crate sets `crate::FLAW` to the one mistake it makes; with
//! every flaw off this is a correct plugin. They exist so the conformance
//! suite's tests can show that each mistake is caught and named.

use paycore_plugin_sdk::types::{
    Algorithm, CallContext, CallbackEvent, CallbackOutcome, ChannelError, Failure, HttpError,
    HttpRequest, HttpResponse, Manifest, PayRequest, PaymentRef, PaymentResult, PaymentStatus,
    PaymentUpdate, RefundRef, RefundRequest, RefundResult, RefundStatus, Scene,
};
use paycore_plugin_sdk::{Channel, Describe, Host, money};
use serde_json::{Value, json};

/// The one mistake a broken plugin makes.
#[allow(dead_code)]
pub enum Flaw {
    /// An unanswered request is reported as declined (money may have moved).
    TimeoutIsDecline,
    /// Yuan computed with `f32` (wrong on large and some small amounts).
    FloatYuan,
    /// Callbacks are believed without checking their signature.
    TrustsCallbacks,
}

const KEY: &str = "api_key";

#[derive(Default)]
pub struct Broken;

impl Describe for Broken {
    fn manifest(&self) -> Manifest {
        Manifest::new(crate::NAME, "0.1.0")
            .with_description("A deliberately broken plugin: a conformance suite test fixture")
            .with_scenes(&[Scene::Barcode, Scene::Qrcode])
            .with_wallets(&["sandbox"])
            .with_currencies(&["CNY"])
            .with_settings(&["base_url", "merchant_id"])
            .with_secrets(&[KEY])
            .with_hosts(&["127.0.0.1"])
    }
}

impl Channel for Broken {
    fn pay(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        r: PayRequest,
    ) -> Result<PaymentResult, ChannelError> {
        let body = json!({
            "out_trade_no": r.merchant_order_no, "amount": major(r.amount, &r.currency)?,
            "currency": r.currency, "scene": r.scene.as_str(), "auth_code": r.auth_code,
            "notify_url": ctx.notify_url,
        });
        order(call(host, ctx, "pay", &body)?)
    }

    fn query(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        p: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        order(call(
            host,
            ctx,
            "query",
            &json!({ "out_trade_no": p.merchant_order_no }),
        )?)
    }

    fn close(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        p: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        order(call(
            host,
            ctx,
            "close",
            &json!({ "out_trade_no": p.merchant_order_no }),
        )?)
    }

    fn cancel(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        p: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        order(call(
            host,
            ctx,
            "cancel",
            &json!({ "out_trade_no": p.merchant_order_no }),
        )?)
    }

    fn refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        r: RefundRequest,
    ) -> Result<RefundResult, ChannelError> {
        let body = json!({
            "out_trade_no": r.payment.merchant_order_no, "out_refund_no": r.merchant_refund_no,
            "amount": major(r.amount, &r.payment.currency)?,
        });
        refund(call(host, ctx, "refund", &body)?, &r.payment.currency)
    }

    fn query_refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        r: RefundRef,
    ) -> Result<RefundResult, ChannelError> {
        let body = json!({ "out_refund_no": r.merchant_refund_no });
        refund(call(host, ctx, "refund_query", &body)?, &r.payment.currency)
    }

    fn handle_callback(
        &self,
        host: &dyn Host,
        _: &CallContext,
        r: HttpRequest,
    ) -> Result<CallbackOutcome, ChannelError> {
        let trusted = matches!(crate::FLAW, Flaw::TrustsCallbacks);
        if !trusted && !signed(host, &r.body, r.header("X-Sandbox-Signature")) {
            return Ok(CallbackOutcome::rejected(HttpResponse::json(401, "{}")));
        }
        let v: Value = serde_json::from_slice(&r.body).map_err(|e| bad(e.to_string()))?;
        let currency = text(&v, "currency")?;
        Ok(CallbackOutcome::accepted(
            CallbackEvent::Payment(PaymentUpdate {
                merchant_order_no: text(&v, "out_trade_no")?,
                channel_order_no: v["trade_no"].as_str().map(str::to_owned),
                status: PaymentStatus::Succeeded,
                amount: minor(&text(&v, "amount")?, &currency)?,
                currency,
            }),
            HttpResponse::json(200, r#"{"code":"SUCCESS"}"#),
        ))
    }
}

fn major(minor_units: i64, currency: &str) -> Result<String, ChannelError> {
    if matches!(crate::FLAW, Flaw::FloatYuan) {
        return Ok(format!("{:.2}", minor_units as f32 / 100.0));
    }
    money::to_major_string(minor_units, currency).map_err(|e| bad(e.to_string()))
}

fn minor(major_units: &str, currency: &str) -> Result<i64, ChannelError> {
    if matches!(crate::FLAW, Flaw::FloatYuan) {
        let yuan: f32 = major_units.parse().map_err(|_| bad("amount".into()))?;
        return Ok((yuan * 100.0) as i64);
    }
    money::parse_major(major_units, currency).map_err(|e| unknown(e.to_string()))
}

/// One signed exchange; the answer only if it verifies and says SUCCESS.
fn call(host: &dyn Host, ctx: &CallContext, op: &str, body: &Value) -> Result<Value, ChannelError> {
    let body = body.to_string().into_bytes();
    let sig = host
        .sign(KEY, Algorithm::HmacSha256, &body)
        .map_err(|e| invalid(format!("{e:?}")))?;
    let url = format!("{}/api/v1/{op}", ctx.require_setting("base_url")?);
    let request = HttpRequest::new("POST", url, body)
        .with_header("Content-Type", "application/json")
        .with_header("X-Sandbox-Merchant", ctx.require_setting("merchant_id")?)
        .with_header("X-Sandbox-Signature", hex::encode(sig));
    let response = match host.http_send(request) {
        Err(HttpError::Timeout) if matches!(crate::FLAW, Flaw::TimeoutIsDecline) => {
            return Err(ChannelError::Declined(Failure::new(
                "declined",
                "no answer",
            )));
        }
        other => other?,
    };
    if !signed(host, &response.body, response.header("X-Sandbox-Signature")) {
        return Err(unknown("unverified answer".into()));
    }
    let v: Value = serde_json::from_slice(&response.body).map_err(|e| unknown(e.to_string()))?;
    match v["code"].as_str() {
        Some("SUCCESS") => Ok(v),
        Some("DECLINED") => Err(ChannelError::Declined(Failure::new("declined", "declined"))),
        _ => Err(unknown(format!("HTTP {}", response.status))),
    }
}

fn signed(host: &dyn Host, body: &[u8], signature: Option<&str>) -> bool {
    let Some(sig) = signature.and_then(|s| hex::decode(s).ok()) else {
        return false;
    };
    host.verify(KEY, Algorithm::HmacSha256, body, &sig) == Ok(true)
}

fn order(v: Value) -> Result<PaymentResult, ChannelError> {
    let currency = text(&v, "currency")?;
    let status = match v["status"].as_str() {
        Some("SUCCEEDED") => PaymentStatus::Succeeded,
        Some("PENDING") => PaymentStatus::Pending,
        Some("PROCESSING") => PaymentStatus::Processing,
        Some("CLOSED") => PaymentStatus::Closed,
        Some("CANCELLED") => PaymentStatus::Cancelled,
        _ => PaymentStatus::Failed,
    };
    Ok(PaymentResult {
        status,
        channel_order_no: v["trade_no"].as_str().map(str::to_owned),
        amount: Some(minor(&text(&v, "amount")?, &currency)?),
        currency: Some(currency),
        action: None,
        failure: None,
    })
}

fn refund(v: Value, currency: &str) -> Result<RefundResult, ChannelError> {
    Ok(RefundResult {
        status: if v["status"] == "SUCCEEDED" {
            RefundStatus::Succeeded
        } else {
            RefundStatus::Failed
        },
        channel_refund_no: v["refund_no"].as_str().map(str::to_owned),
        amount: Some(minor(&text(&v, "amount")?, currency)?),
        failure: None,
    })
}

fn text(v: &Value, field: &str) -> Result<String, ChannelError> {
    v[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| unknown(format!("no {field}")))
}

fn bad(why: String) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new("malformed", why))
}

fn invalid(why: String) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new("invalid_request", why))
}

fn unknown(why: String) -> ChannelError {
    ChannelError::OutcomeUnknown(Failure::new("malformed_answer", why))
}
