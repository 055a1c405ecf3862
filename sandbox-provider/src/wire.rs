//! The wire format: HMAC signing, request field extraction, error codes and
//! signed JSON responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Sha256;

pub(crate) const MERCHANT_HEADER: &str = "x-sandbox-merchant";
pub(crate) const SIGNATURE_HEADER: &str = "x-sandbox-signature";

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC accepts any key length")
}

/// Lower-case hex HMAC-SHA256 of `body` under `key`.
pub(crate) fn sign(key: &[u8], body: &[u8]) -> String {
    let mut m = mac(key);
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

/// Checks a hex signature in constant time (`verify_slice`), so a forger
/// learns nothing from response timing.
pub(crate) fn verify(key: &[u8], body: &[u8], signature_hex: &str) -> bool {
    let Ok(sig) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let mut m = mac(key);
    m.update(body);
    m.verify_slice(&sig).is_ok()
}

/// Every answer the API can give that is not `SUCCESS`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// Unsigned, wrongly signed, or unknown merchant. Never signed itself: we
    /// either have no key or must not vouch for a request we did not accept.
    #[error("{0}")]
    BadSignature(&'static str),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("no such order")]
    OrderNotFound,
    #[error("no such refund")]
    RefundNotFound,
    #[error("{0}")]
    OrderPaid(String),
    #[error("{0}")]
    OrderClosed(String),
    #[error("{0}")]
    Duplicate(String),
    #[error("{0}")]
    RefundExceeds(String),
    /// A statement adjustment names a line the day's statement does not
    /// have: `ORDER_NOT_FOUND`, or `REFUND_NOT_FOUND` for a refund's line.
    #[error("{message}")]
    NoSuchLine { refund: bool, message: String },
    /// The statement of a day that has not ended yet in the statement time zone.
    #[error("{0}")]
    StatementNotReady(String),
    #[error("the provider timed out; the order may have been taken, query it")]
    Timeout,
}

impl ApiError {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            ApiError::BadSignature(_) => "BAD_SIGNATURE",
            ApiError::InvalidRequest(_) => "INVALID_REQUEST",
            ApiError::OrderNotFound => "ORDER_NOT_FOUND",
            ApiError::RefundNotFound => "REFUND_NOT_FOUND",
            ApiError::OrderPaid(_) => "ORDER_PAID",
            ApiError::OrderClosed(_) => "ORDER_CLOSED",
            ApiError::Duplicate(_) => "DUPLICATE",
            ApiError::RefundExceeds(_) => "REFUND_EXCEEDS",
            ApiError::NoSuchLine { refund: false, .. } => "ORDER_NOT_FOUND",
            ApiError::NoSuchLine { refund: true, .. } => "REFUND_NOT_FOUND",
            ApiError::StatementNotReady(_) => "STATEMENT_NOT_READY",
            ApiError::Timeout => "TIMEOUT",
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::OrderNotFound | ApiError::RefundNotFound | ApiError::NoSuchLine { .. } => {
                StatusCode::NOT_FOUND
            }
            ApiError::OrderPaid(_)
            | ApiError::OrderClosed(_)
            | ApiError::Duplicate(_)
            | ApiError::StatementNotReady(_) => StatusCode::CONFLICT,
            ApiError::RefundExceeds(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    pub(crate) fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            message: self.to_string(),
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        ApiError::InvalidRequest(msg.into())
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

/// An order as every order-returning operation shows it.
#[derive(Debug, Serialize)]
pub(crate) struct OrderBody {
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub trade_no: String,
    pub out_trade_no: String,
    pub status: &'static str,
    pub amount: String,
    pub currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_url: Option<String>,
}

/// A refund, as `refund` and `refund_query` show it.
#[derive(Debug, Serialize)]
pub(crate) struct RefundBody {
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub refund_no: String,
    pub out_refund_no: String,
    pub status: &'static str,
    pub amount: String,
}

/// An answer with nothing to say but `SUCCESS` (`statement_adjust`).
#[derive(Debug, Serialize)]
pub(crate) struct DoneBody {
    pub code: &'static str,
}

/// The asynchronous `payment.succeeded` notification.
#[derive(Debug, Serialize)]
pub(crate) struct NotifyBody<'a> {
    pub event: &'static str,
    pub trade_no: &'a str,
    pub out_trade_no: &'a str,
    pub status: &'static str,
    pub amount: &'a str,
    pub currency: &'static str,
    pub paid_at: &'a str,
}

/// Builds a JSON response whose `X-Sandbox-Signature` covers the exact bytes sent.
pub(crate) fn signed(status: StatusCode, key: &[u8], body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let sig = sign(key, &bytes);
    let mut resp = (status, bytes).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&sig) {
        headers.insert(SIGNATURE_HEADER, v);
    }
    resp
}

/// `401 BAD_SIGNATURE`, deliberately unsigned.
pub(crate) fn bad_signature(reason: &'static str) -> Response {
    let err = ApiError::BadSignature(reason);
    let bytes = serde_json::to_vec(&err.body()).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = (err.status(), bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Typed access to the fields of a request object, with errors that name the
/// field. `null` counts as absent.
pub(crate) struct Fields<'a>(pub &'a Map<String, Value>);

impl<'a> Fields<'a> {
    pub(crate) fn parse(body: &'a Value) -> Result<Self, ApiError> {
        body.as_object()
            .map(Fields)
            .ok_or_else(|| ApiError::invalid("body must be a JSON object"))
    }

    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(format!(
                "field `{name}` must be a string"
            ))),
        }
    }

    pub(crate) fn str(&self, name: &str) -> Result<&'a str, ApiError> {
        self.opt_str(name)?
            .ok_or_else(|| ApiError::invalid(format!("missing field `{name}`")))
    }

    pub(crate) fn opt_u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                ApiError::invalid(format!("field `{name}` must be a non-negative integer"))
            }),
        }
    }

    /// An identifier chosen by the merchant (`out_trade_no`, `out_refund_no`):
    /// 1–64 visible ASCII characters, like the real channels allow.
    pub(crate) fn ident(&self, name: &str) -> Result<&'a str, ApiError> {
        let s = self.str(name)?;
        if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::invalid(format!(
                "field `{name}` must be 1-64 visible ASCII characters"
            )));
        }
        Ok(s)
    }

    pub(crate) fn opt_ident(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(_) => self.ident(name).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip() {
        let sig = sign(b"k", b"{\"a\":1}");
        assert_eq!(sig.len(), 64);
        assert!(
            sig.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert!(verify(b"k", b"{\"a\":1}", &sig));
        assert!(!verify(b"k", b"{\"a\":2}", &sig));
        assert!(!verify(b"other", b"{\"a\":1}", &sig));
        assert!(!verify(b"k", b"{\"a\":1}", "zz"));
        assert!(!verify(b"k", b"{\"a\":1}", ""));
    }

    #[test]
    fn fields_name_the_field() {
        let v: Value = serde_json::json!({"a": 1, "b": "x", "n": null});
        let f = Fields::parse(&v).unwrap();
        assert!(f.str("a").unwrap_err().to_string().contains("`a`"));
        assert!(
            f.str("missing")
                .unwrap_err()
                .to_string()
                .contains("`missing`")
        );
        assert_eq!(f.opt_str("n").unwrap(), None);
        assert_eq!(f.str("b").unwrap(), "x");
        assert!(f.ident("a").is_err());
        assert!(Fields::parse(&serde_json::json!([1])).is_err());
    }
}
