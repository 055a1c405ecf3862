//! One signed exchange with the WeChat Pay v3 API, and what an error answer
//! means for the money.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{
    CallContext, ChannelError, Failure, HttpRequest, HttpResponse, LogLevel,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::sign::{Authorization, Signed};

/// Who we are at WeChat Pay. With `sub_mchid` set the channel is a service
/// provider (partner mode) paying for its sub-merchant: `mchid`/`appid` are
/// then the provider's `sp_mchid`/`sp_appid`.
pub struct Merchant<'a> {
    pub base_url: &'a str,
    pub mchid: &'a str,
    pub appid: &'a str,
    pub serial_no: &'a str,
    pub platform_serial: &'a str,
    pub sub_mchid: Option<&'a str>,
    pub sub_appid: Option<&'a str>,
    pub notify_url: &'a str,
}

impl<'a> Merchant<'a> {
    pub fn new(ctx: &'a CallContext) -> Result<Self, ChannelError> {
        Ok(Self {
            base_url: ctx.require_setting("base_url")?.trim_end_matches('/'),
            mchid: ctx.require_setting("mchid")?,
            appid: ctx.require_setting("appid")?,
            serial_no: ctx.require_setting("serial_no")?,
            platform_serial: ctx.require_setting("platform_serial")?,
            sub_mchid: ctx.setting("sub_mchid"),
            sub_appid: ctx.setting("sub_appid"),
            notify_url: &ctx.notify_url,
        })
    }

    pub fn partner(&self) -> bool {
        self.sub_mchid.is_some()
    }
}

/// A verified error answer: `{"code": …, "message": …}` with its HTTP status.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    #[serde(default)]
    message: String,
}

pub struct Client<'a> {
    host: &'a dyn Host,
    pub merchant: Merchant<'a>,
}

impl<'a> Client<'a> {
    pub fn new(host: &'a dyn Host, ctx: &'a CallContext) -> Result<Self, ChannelError> {
        Ok(Self {
            host,
            merchant: Merchant::new(ctx)?,
        })
    }

    /// Sends `method path` with `body` (JSON text, empty for GET) and returns
    /// the verified answer's body, or the verified error answer.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: &str,
    ) -> Result<Result<Vec<u8>, ApiError>, ChannelError> {
        let authorization = Authorization {
            mchid: self.merchant.mchid,
            serial_no: self.merchant.serial_no,
            method,
            path,
            body,
            timestamp: self.host.now_millis() / 1000,
        }
        .header(self.host)?;
        let mut request =
            HttpRequest::new(method, format!("{}{path}", self.merchant.base_url), body)
                .with_header("Authorization", authorization)
                .with_header("Accept", "application/json")
                .with_header(
                    "User-Agent",
                    concat!("paycore-plugin-wechatpay/", env!("CARGO_PKG_VERSION")),
                );
        if !body.is_empty() {
            request = request.with_header("Content-Type", "application/json");
        }
        let response = self.host.http_send(request)?;
        let success = (200..300).contains(&response.status);
        let error = (!success)
            .then(|| serde_json::from_slice::<ErrorBody>(&response.body).ok())
            .flatten();
        // WeChat cannot sign an answer to a request it could not
        // authenticate; it recorded nothing, so the unsigned SIGN_ERROR is
        // believed — otherwise a wrong key would leave every payment unknown.
        if let Some(e) = &error
            && response.status == 401
            && e.code == "SIGN_ERROR"
            && response.header("Wechatpay-Signature").is_none()
        {
            return Ok(Err(ApiError {
                status: 401,
                code: e.code.clone(),
                message: e.message.clone(),
            }));
        }
        self.verify(&response)?;
        // 202 Accepted carries `{"code":"USERPAYING",…}`: taken, not finished.
        if response.status == 202
            && let Ok(e) = serde_json::from_slice::<ErrorBody>(&response.body)
        {
            return Ok(Err(ApiError {
                status: 202,
                code: e.code,
                message: e.message,
            }));
        }
        if success {
            return Ok(Ok(response.body));
        }
        match error {
            Some(e) => Ok(Err(ApiError {
                status: response.status,
                code: e.code,
                message: e.message,
            })),
            None => Err(ChannelError::OutcomeUnknown(Failure::new(
                "unexpected_answer",
                format!(
                    "WeChat Pay answered HTTP {} without an error code",
                    response.status
                ),
            ))),
        }
    }

    /// GETs a file WeChat Pay named in a verified answer (a bill's
    /// `download_url`), signed like every request over the URL's path and
    /// query. WeChat does not sign this answer, so it is returned as it
    /// came: the caller checks the file against the digest the verified
    /// answer stated. Only a URL on the API's own origin (or WeChat's API
    /// hosts) gets our `Authorization`.
    pub fn download(&self, url: &str) -> Result<HttpResponse, ChannelError> {
        let (origin, path) = split_url(url).ok_or_else(|| {
            ChannelError::InvalidRequest(Failure::new(
                "unexpected_download_url",
                format!("WeChat Pay's download_url `{url}` is not an absolute http(s) URL"),
            ))
        })?;
        let ours = split_url(self.merchant.base_url).map(|(o, _)| o);
        let wechat = [
            "https://api.mch.weixin.qq.com",
            "https://api2.mch.weixin.qq.com",
        ];
        if Some(origin) != ours && !wechat.contains(&origin) {
            return Err(ChannelError::InvalidRequest(Failure::new(
                "unexpected_download_url",
                format!("WeChat Pay's download_url is on `{origin}`, not the API's host"),
            )));
        }
        let authorization = Authorization {
            mchid: self.merchant.mchid,
            serial_no: self.merchant.serial_no,
            method: "GET",
            path,
            body: "",
            timestamp: self.host.now_millis() / 1000,
        }
        .header(self.host)?;
        let request = HttpRequest::new("GET", url, "")
            .with_header("Authorization", authorization)
            .with_header("Accept", "*/*")
            .with_header(
                "User-Agent",
                concat!("paycore-plugin-wechatpay/", env!("CARGO_PKG_VERSION")),
            );
        Ok(self.host.http_send(request)?)
    }

    /// An answer we cannot verify tells us nothing: the request went out.
    fn verify(&self, response: &HttpResponse) -> Result<(), ChannelError> {
        let signed = Signed {
            serial: response.header("Wechatpay-Serial"),
            timestamp: response.header("Wechatpay-Timestamp"),
            nonce: response.header("Wechatpay-Nonce"),
            signature: response.header("Wechatpay-Signature"),
        };
        signed
            .verify(self.host, self.merchant.platform_serial, &response.body)
            .map_err(|why| {
                self.host.log(
                    LogLevel::Warn,
                    &format!("untrusted WeChat Pay answer: {why}"),
                );
                ChannelError::OutcomeUnknown(Failure::new("unverified_answer", why))
            })
    }
}

/// `scheme://host[:port]` and the path with its query (`/` when empty).
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let scheme_len = url.len() - rest.len();
    let host_len = rest.find(['/', '?']).unwrap_or(rest.len());
    if host_len == 0 {
        return None;
    }
    let (origin, path) = url.split_at(scheme_len + host_len);
    Some((origin, if path.is_empty() { "/" } else { path }))
}

/// A verified success body as `T`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ChannelError> {
    serde_json::from_slice(body).map_err(|e| {
        ChannelError::OutcomeUnknown(Failure::new(
            "malformed_answer",
            format!("cannot read WeChat Pay's answer: {e}"),
        ))
    })
}

impl ApiError {
    /// The error in paycore's words (see the README's table). Only answers
    /// that prove nothing was taken become `declined`/`invalid-request`.
    pub fn into_channel_error(self) -> ChannelError {
        let failure = |ours: &str, message: &str| {
            Failure::new(ours, message).with_channel(&self.code, Some(&self.message))
        };
        match (self.status, self.code.as_str()) {
            (_, "SYSTEM_ERROR" | "SYSTEMERROR" | "BANK_ERROR") | (500..=599, _) => {
                ChannelError::OutcomeUnknown(failure(
                    "channel_error",
                    "WeChat Pay had a system error; query to learn the outcome",
                ))
            }
            (_, "USERPAYING") => ChannelError::OutcomeUnknown(failure(
                "in_progress",
                "the payer is still confirming; query again",
            )),
            (429, _) | (_, "FREQUENCY_LIMITED") => ChannelError::Unavailable(failure(
                "rate_limited",
                "WeChat Pay refused the call as too frequent; nothing was done",
            )),
            (_, "SIGN_ERROR") => ChannelError::InvalidRequest(failure(
                "channel_auth_failed",
                "WeChat Pay rejected our signature: check `mchid`, `serial_no` and `merchant_private_key`",
            )),
            (
                _,
                "PARAM_ERROR"
                | "INVALID_REQUEST"
                | "APPID_MCHID_NOT_MATCH"
                | "MCH_NOT_EXISTS"
                | "NO_AUTH"
                | "RULE_LIMIT",
            ) => ChannelError::InvalidRequest(failure(
                "channel_rejected",
                "WeChat Pay rejected the request",
            )),
            (_, "ORDER_NOT_EXIST" | "ORDERNOTEXIST" | "RESOURCE_NOT_EXISTS") => {
                ChannelError::Declined(failure("order_not_found", "WeChat Pay has no such order"))
            }
            (_, "NOT_ENOUGH" | "NOTENOUGH") => {
                ChannelError::Declined(failure("insufficient_funds", "the balance is not enough"))
            }
            (_, "AUTH_CODE_ERROR" | "AUTHCODEEXPIRE" | "AUTH_CODE_INVALID") => {
                ChannelError::Declined(failure(
                    "invalid_auth_code",
                    "the payment code is invalid or expired",
                ))
            }
            (_, "ORDER_CLOSED" | "ORDERCLOSED") => {
                ChannelError::Declined(failure("order_closed", "the order is closed"))
            }
            (_, "ORDERPAID" | "ORDER_PAID") => {
                ChannelError::Declined(failure("order_paid", "the order is already paid"))
            }
            (_, "OUT_TRADE_NO_USED") => ChannelError::Declined(failure(
                "duplicate_order",
                "the order number is in use with different details",
            )),
            (_, "REFUND_AMOUNT_EXCEED" | "REFUND_NOT_ENOUGH") => ChannelError::Declined(failure(
                "refund_exceeds",
                "the refund exceeds what remains of the payment",
            )),
            _ => ChannelError::Declined(failure("declined", "WeChat Pay refused the operation")),
        }
    }
}
