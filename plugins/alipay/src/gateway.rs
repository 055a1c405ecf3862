//! One signed call to the Alipay OpenAPI gateway, and what its result code
//! means for the money.

use std::collections::HashMap;

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::params::form_urlencode;
use paycore_plugin_sdk::types::{
    CallContext, ChannelError, Failure, HttpRequest, HttpResponse, LogLevel,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use time::macros::{format_description, offset};

use crate::sign;

/// Everything the gateway needs to know about us on every call.
pub struct Gateway<'a> {
    host: &'a dyn Host,
    url: &'a str,
    app_id: &'a str,
    /// ISV mode: the token a merchant granted the service provider's app.
    app_auth_token: Option<&'a str>,
    notify_url: &'a str,
}

/// The only signature type this channel speaks: SHA256withRSA. Alipay's
/// older `RSA` (SHA1withRSA) is refused by the setting's description.
pub const SIGN_TYPE: &str = "RSA2";

/// A verified answer whose code leaves the decision to the operation:
/// `10000` (success), `10003` (in progress) or `40004` (business failure).
#[derive(Debug)]
pub struct Answer {
    pub code: String,
    pub msg: Option<String>,
    pub sub_code: Option<String>,
    pub sub_msg: Option<String>,
    raw: String,
}

#[derive(serde::Deserialize)]
struct Status {
    code: String,
    msg: Option<String>,
    sub_code: Option<String>,
    sub_msg: Option<String>,
}

pub const SUCCESS: &str = "10000";
pub const IN_PROGRESS: &str = "10003";
pub const BUSINESS_FAILURE: &str = "40004";

impl<'a> Gateway<'a> {
    pub fn new(host: &'a dyn Host, ctx: &'a CallContext) -> Result<Self, ChannelError> {
        Ok(Self {
            host,
            url: ctx.require_setting("gateway_url")?,
            app_id: ctx.require_setting("app_id")?,
            app_auth_token: ctx.setting("app_auth_token"),
            notify_url: &ctx.notify_url,
        })
        .and_then(|gateway| match ctx.setting("sign_type") {
            None | Some(SIGN_TYPE) => Ok(gateway),
            Some(_) => Err(ChannelError::InvalidRequest(Failure::new(
                "unsupported_sign_type",
                format!("this channel signs with {SIGN_TYPE} only"),
            ))),
        })
    }

    /// The public parameters of a call to `method`, signed. `notify` adds
    /// `notify_url` (only operations that create a trade take it);
    /// `extra` are further public parameters (`return_url`).
    pub fn signed_params(
        &self,
        method: &str,
        biz_content: &impl Serialize,
        notify: bool,
        extra: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, ChannelError> {
        let biz_content = serde_json::to_string(biz_content).map_err(|e| {
            ChannelError::InvalidRequest(Failure::new("invalid_request", e.to_string()))
        })?;
        let mut params: Vec<(String, String)> = [
            ("app_id", self.app_id),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", SIGN_TYPE),
            ("timestamp", &timestamp(self.host.now_millis())),
            ("version", "1.0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        if notify {
            params.push(("notify_url".into(), self.notify_url.to_owned()));
        }
        if let Some(token) = self.app_auth_token {
            params.push(("app_auth_token".into(), token.to_owned()));
        }
        for (k, v) in extra {
            params.push(((*k).to_owned(), (*v).to_owned()));
        }
        params.push(("biz_content".into(), biz_content));
        let signature = sign::sign(self.host, &sign::request_content(&params))?;
        params.push(("sign".into(), signature));
        Ok(params)
    }

    /// A URL the payer's browser opens to pay (`wap.pay`, `page.pay`): the
    /// gateway with the signed parameters as its query string.
    pub fn page_url(&self, params: &[(String, String)]) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}{}", self.url, form_urlencode(params))
    }

    /// POSTs `method` and returns the verified answer, or the error that
    /// says whether money may have moved.
    pub fn call(
        &self,
        method: &str,
        biz_content: &impl Serialize,
        notify: bool,
    ) -> Result<Answer, ChannelError> {
        let params = self.signed_params(method, biz_content, notify, &[])?;
        let request = HttpRequest::new("POST", self.url, form_urlencode(&params))
            .with_header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .with_header("Accept", "application/json");
        let response = self.host.http_send(request)?;
        let answer = read_answer(self.host, method, &response)?;
        classify(answer)
    }
}

/// The gateway wants Beijing time, `yyyy-MM-dd HH:mm:ss`.
pub fn timestamp(now_millis: u64) -> String {
    let seconds = i64::try_from(now_millis / 1000).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset!(+8))
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// `alipay.trade.pay` answers in `alipay_trade_pay_response`.
pub fn response_node(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// Finds the method's node (or `error_response`), verifies the signature over
/// its raw text exactly as it appears in the body, and reads its status.
/// An answer we cannot verify tells us nothing: the request went out.
pub fn read_answer(
    host: &dyn Host,
    method: &str,
    response: &HttpResponse,
) -> Result<Answer, ChannelError> {
    let text = std::str::from_utf8(&response.body)
        .map_err(|_| unverified(format!("HTTP {}: the answer is not UTF-8", response.status)))?;
    let nodes: HashMap<&str, &RawValue> = serde_json::from_str(text).map_err(|e| {
        unverified(format!(
            "HTTP {}: the answer is not a gateway response: {e}",
            response.status
        ))
    })?;
    let node = nodes
        .get(response_node(method).as_str())
        .or_else(|| nodes.get("error_response"))
        .ok_or_else(|| unverified(format!("the answer has no `{}`", response_node(method))))?;
    let signature: String = nodes
        .get("sign")
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .ok_or_else(|| unverified("the answer is not signed".to_owned()))?;
    sign::verify(host, node.get().as_bytes(), &signature).map_err(|why| {
        host.log(
            LogLevel::Warn,
            &format!("untrusted answer to {method}: {why}"),
        );
        unverified(why)
    })?;
    let status: Status = serde_json::from_str(node.get())
        .map_err(|e| unverified(format!("the answer has no result code: {e}")))?;
    Ok(Answer {
        code: status.code,
        msg: status.msg,
        sub_code: status.sub_code,
        sub_msg: status.sub_msg,
        raw: node.get().to_owned(),
    })
}

fn unverified(why: String) -> ChannelError {
    ChannelError::OutcomeUnknown(Failure::new("unverified_answer", why))
}

/// The result codes of the gateway (开放平台公共错误码). Only a code that
/// proves the trade was not touched becomes `invalid-request`; a system
/// error is never a failure, because Alipay may have taken the money.
fn classify(answer: Answer) -> Result<Answer, ChannelError> {
    match answer.code.as_str() {
        SUCCESS | IN_PROGRESS => Ok(answer),
        BUSINESS_FAILURE if answer.sub_code_is("ACQ.SYSTEM_ERROR") => {
            Err(ChannelError::OutcomeUnknown(answer.failure(
                "channel_error",
                "Alipay had a system error; query to learn the outcome",
            )))
        }
        BUSINESS_FAILURE => Ok(answer),
        "20000" => Err(ChannelError::OutcomeUnknown(answer.failure(
            "channel_error",
            "Alipay's service is unavailable; query to learn the outcome",
        ))),
        // Missing or invalid parameters (including our signature), missing
        // permission or authorisation, a bad app_auth_token: the gateway
        // refused the call before any trade logic ran.
        "20001" | "40001" | "40002" | "40003" | "40006" => {
            Err(ChannelError::InvalidRequest(answer.failure(
                "channel_rejected",
                "the Alipay gateway rejected the request",
            )))
        }
        other => Err(ChannelError::OutcomeUnknown(answer.failure(
            "unexpected_answer",
            &format!("unexpected result code {other} from Alipay"),
        ))),
    }
}

impl Answer {
    pub fn sub_code_is(&self, sub_code: &str) -> bool {
        self.sub_code.as_deref() == Some(sub_code)
    }

    /// The failure in our words, with Alipay's `sub_code` (or `code`) and message kept.
    pub fn failure(&self, ours: &str, message: &str) -> Failure {
        let code = self.sub_code.as_deref().unwrap_or(&self.code);
        let said = self.sub_msg.as_deref().or(self.msg.as_deref());
        Failure::new(ours, message).with_channel(code, said)
    }

    /// The business fields of a successful answer.
    pub fn body<R: DeserializeOwned>(&self) -> Result<R, ChannelError> {
        serde_json::from_str(&self.raw).map_err(|e| {
            ChannelError::OutcomeUnknown(Failure::new(
                "malformed_answer",
                format!("cannot read Alipay's answer: {e}"),
            ))
        })
    }

    /// A `40004` in paycore's words: the trade was refused, nothing moved.
    pub fn declined(&self) -> ChannelError {
        let (ours, message) = business_failure(self.sub_code.as_deref().unwrap_or(""));
        ChannelError::Declined(self.failure(ours, message))
    }
}

/// Alipay `sub_code` → paycore failure code (see the README's table).
pub fn business_failure(sub_code: &str) -> (&'static str, &'static str) {
    match sub_code {
        "ACQ.PAYMENT_AUTH_CODE_INVALID" => (
            "invalid_auth_code",
            "the payment code is invalid or expired",
        ),
        "ACQ.BUYER_BALANCE_NOT_ENOUGH" | "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH" => {
            ("insufficient_funds", "the payer's balance is not enough")
        }
        "ACQ.TRADE_HAS_SUCCESS" => ("order_paid", "the order is already paid"),
        "ACQ.TRADE_HAS_CLOSE" => ("order_closed", "the order is closed"),
        "ACQ.TRADE_NOT_EXIST" => ("order_not_found", "Alipay has no such order"),
        "ACQ.TRADE_STATUS_ERROR" => (
            "invalid_order_status",
            "the order's status does not allow this",
        ),
        "ACQ.CONTEXT_INCONSISTENT" => (
            "duplicate_order",
            "the order number is in use with different details",
        ),
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" => (
            "refund_exceeds",
            "the refund exceeds what remains of the payment",
        ),
        "ACQ.TOTAL_FEE_EXCEED" => ("amount_limit", "the amount exceeds the allowed limit"),
        "ACQ.BUYER_SELLER_EQUAL" => ("invalid_payer", "the payer is the merchant"),
        "ACQ.BUYER_ENABLE_STATUS_FORBID" | "ACQ.PAYMENT_FAIL" | "ACQ.PAYMENT_REQUEST_HAS_RISK" => {
            ("declined", "Alipay declined the payment")
        }
        _ => ("declined", "Alipay refused the operation"),
    }
}
