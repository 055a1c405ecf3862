//! One signed call to Huifu's v3 API: the envelope, the POST, the gateway's
//! HTTP codes, and the answer — believed only once its `data` verifies, as
//! received, under Huifu's key and names the transaction asked about.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{
    CallContext, ChannelError, Failure, HttpRequest, HttpResponse, LogLevel,
};
use serde::Deserialize;
use serde_json::value::RawValue;

pub use crate::answer::Answer;
use crate::canon::{Data, json_string};
use crate::fields::Fields;
use crate::sign;

/// Huifu's production API (the setting's default).
pub const DEFAULT_URL: &str = "https://api.huifu.com";

/// Where a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// B扫C: the payer's code (聚合反扫).
    Micropay,
    /// C扫B: an order the payer scans (聚合正扫), `trade_type` `D_NATIVE`.
    Jspay,
    /// 扫码交易查询.
    Query,
    /// 扫码交易退款.
    Refund,
    /// Refund query.
    RefundQuery,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Micropay => "/v3/trade/payment/micropay",
            Endpoint::Jspay => "/v3/trade/payment/jspay",
            Endpoint::Query => "/v3/trade/payment/scanpay/query",
            Endpoint::Refund => "/v3/trade/payment/scanpay/refund",
            Endpoint::RefundQuery => "/v3/trade/payment/scanpay/refundquery",
        }
    }
}

/// The fields of a request that name its transaction: where an answer
/// states one, it must be what was asked, or the answer is about another
/// transaction (a replay, a mix-up in a proxy) and says nothing of ours.
const IDENTITY: &[&str] = &[
    "huifu_id",
    "req_date",
    "req_seq_id",
    "org_req_date",
    "org_req_seq_id",
    "org_hf_seq_id",
];

/// Everything Huifu needs to know about us on every call.
pub struct Gateway<'a> {
    host: &'a dyn Host,
    base: &'a str,
    pub huifu_id: &'a str,
    sys_id: &'a str,
    product_id: &'a str,
    pub notify_url: &'a str,
    pub digital_bank_no: Option<&'a str>,
}

impl<'a> Gateway<'a> {
    pub fn new(host: &'a dyn Host, ctx: &'a CallContext) -> Result<Self, ChannelError> {
        let huifu_id = ctx.require_setting("huifu_id")?;
        Ok(Self {
            host,
            // The host fills the default in; a context without it (a test,
            // an older host) means the same.
            base: ctx
                .setting("base_url")
                .unwrap_or(DEFAULT_URL)
                .trim_end_matches('/'),
            huifu_id,
            // A merchant calling for itself signs as itself.
            sys_id: ctx.setting("sys_id").unwrap_or(huifu_id),
            product_id: ctx.require_setting("product_id")?,
            notify_url: &ctx.notify_url,
            digital_bank_no: ctx.setting("digital_bank_no"),
        })
    }

    pub fn host(&self) -> &'a dyn Host {
        self.host
    }

    /// The request body: `data` as exactly the canonical text that was
    /// signed, the envelope's keys in the same byte order (as the Go SDK's
    /// `DoPostReq` sends it).
    pub fn body(&self, data: &Data) -> Result<String, ChannelError> {
        let text = data.text();
        let signature = sign::sign(self.host, &text)?;
        Ok(format!(
            "{{\"data\":{text},\"product_id\":{},\"sign\":{},\"sys_id\":{}}}",
            json_string(self.product_id),
            json_string(&signature),
            json_string(self.sys_id),
        ))
    }

    /// POSTs `data` and returns Huifu's verified answer, or the error that
    /// says whether money may have moved.
    pub fn call(&self, endpoint: Endpoint, data: &Data) -> Result<Answer, ChannelError> {
        let request = HttpRequest::new(
            "POST",
            format!("{}{}", self.base, endpoint.path()),
            self.body(data)?,
        )
        .with_header("Content-Type", "application/json;charset=UTF-8");
        let response = self.host.http_send(request)?;
        if let Some(refused) = gateway_refusal(response.status) {
            return Err(refused);
        }
        self.read(&response, data).map_err(|why| {
            self.host.log(
                LogLevel::Warn,
                &format!(
                    "untrusted answer from {} about req_seq_id {}: {why}",
                    endpoint.path(),
                    data.get("req_seq_id")
                        .or(data.get("org_req_seq_id"))
                        .unwrap_or("?")
                ),
            );
            // Whatever it says, the request went out: only a query can tell.
            ChannelError::OutcomeUnknown(Failure::new("unverified_answer", why))
        })
    }

    /// The answer's `data`, if Huifu signed it and it is about what `asked`
    /// names.
    fn read(&self, response: &HttpResponse, asked: &Data) -> Result<Answer, String> {
        if response.status != 200 {
            return Err(format!("HTTP {} instead of an answer", response.status));
        }
        let text = std::str::from_utf8(&response.body)
            .map_err(|_| "the answer is not UTF-8".to_owned())?;
        let envelope: Envelope<'_> = serde_json::from_str(text)
            .map_err(|e| format!("the answer is not Huifu's envelope: {e}"))?;
        let data = envelope.data.ok_or("the answer has no data")?.get();
        let signature = envelope
            .sign
            .filter(|s| !s.is_empty())
            .ok_or("the answer is not signed")?;
        verify_data(self.host, data, &signature)?;
        let fields = Fields::parse(data)?;
        for name in IDENTITY {
            if let (Some(ours), Some(theirs)) = (asked.get(name), fields.text(name))
                && ours != theirs
            {
                return Err(format!("the answer is for {name} `{theirs}`, not `{ours}`"));
            }
        }
        let answer = Answer { fields };
        if answer.get("resp_code").is_none() {
            return Err("the answer has no resp_code".to_owned());
        }
        Ok(answer)
    }
}

/// `{"data":{…},"sign":"…"}`; a key given twice is refused by the derive.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    sign: Option<String>,
}

/// Verifies `sign` over the raw text of `data` as received. Huifu emits
/// it canonical and signs those bytes; the Go SDK also un-escapes
/// `\u003c \u003e \u0026` before verifying, so text escaped that way in
/// transit is checked as the SDK checks it.
fn verify_data(host: &dyn Host, data: &str, signature: &str) -> Result<(), String> {
    if !data.starts_with('{') {
        return Err("the answer's data is not an object".to_owned());
    }
    let first = sign::verify(host, data.as_bytes(), signature);
    if first.is_ok() || !data.contains("\\u00") {
        return first;
    }
    let unescaped = data
        .replace("\\u003c", "<")
        .replace("\\u003e", ">")
        .replace("\\u0026", "&");
    if unescaped == data {
        return first;
    }
    sign::verify(host, unescaped.as_bytes(), signature)
}

/// The gateway's own HTTP codes, unsigned (base protocol): those that say
/// the request was not processed. Every other non-200 (500, 502 backend
/// timeout, 512, 923 answer not signed…) may follow a processed request.
fn gateway_refusal(status: u16) -> Option<ChannelError> {
    let refused = |code: &str, why: &str| {
        Failure::new(
            code,
            format!("Huifu's gateway answered HTTP {status} ({why}); nothing was processed"),
        )
    };
    match status {
        404 => Some(ChannelError::InvalidRequest(refused(
            "channel_rejected",
            "no such service",
        ))),
        412 => Some(ChannelError::InvalidRequest(refused(
            "channel_rejected",
            "illegal characters",
        ))),
        921 => Some(ChannelError::InvalidRequest(refused(
            "channel_rejected",
            "authentication failed",
        ))),
        922 => Some(ChannelError::InvalidRequest(refused(
            "channel_rejected",
            "the request's signature did not verify: check merchant_private_key against the public key Huifu holds",
        ))),
        911 | 914 => Some(ChannelError::Unavailable(refused(
            "channel_rate_limited",
            "rate limited",
        ))),
        912 => Some(ChannelError::Unavailable(refused(
            "channel_refused",
            "the caller is banned",
        ))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_codes_that_say_nothing_was_processed_are_refusals() {
        for status in [404, 412, 921, 922] {
            assert!(
                matches!(
                    gateway_refusal(status),
                    Some(ChannelError::InvalidRequest(_))
                ),
                "{status}"
            );
        }
        for status in [911, 912, 914] {
            assert!(
                matches!(gateway_refusal(status), Some(ChannelError::Unavailable(_))),
                "{status}"
            );
        }
        for status in [200, 301, 400, 500, 502, 503, 512, 923] {
            assert!(gateway_refusal(status).is_none(), "{status}");
        }
    }

    #[test]
    fn endpoints_are_the_v3_paths() {
        assert_eq!(Endpoint::Micropay.path(), "/v3/trade/payment/micropay");
        assert_eq!(Endpoint::Jspay.path(), "/v3/trade/payment/jspay");
        assert_eq!(Endpoint::Query.path(), "/v3/trade/payment/scanpay/query");
        assert_eq!(Endpoint::Refund.path(), "/v3/trade/payment/scanpay/refund");
        assert_eq!(
            Endpoint::RefundQuery.path(),
            "/v3/trade/payment/scanpay/refundquery"
        );
    }
}
