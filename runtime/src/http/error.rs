//! The one error type of the API: `{"error":{"type","code","message","field"?}}`
//! with the fitting status. Internal causes are logged here, once, and never
//! shown to the client.

use crate::payments::{CreateError, PaymentError};
use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// The payment as it stands, when a channel failure left it somewhere.
    pub payment: Option<Value>,
    /// The stored first answer of an identical create, given again
    /// (`Idempotent-Replayed: true`).
    pub replayed: bool,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            kind,
            code,
            message: message.into(),
            field: None,
            payment: None,
            replayed: false,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn not_found(message: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "resource_missing",
            message,
        )
    }

    pub fn unauthorized(message: &str) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_api_key",
            message,
        )
    }

    pub fn malformed(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", code, message)
    }

    /// paycore's own failure; the cause is logged where it is known.
    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal",
            "paycore could not complete the request; it is safe to retry with the same merchant_order_no",
        )
    }

    /// A method the path does not serve (405, with axum's `Allow` header).
    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "method_not_allowed",
            "this endpoint does not take this method; the `Allow` header lists those it takes",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "type": self.kind, "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        if let Some(id) = super::request_id::current() {
            error["request_id"] = json!(id);
        }
        if let Some(payment) = self.payment {
            error["payment"] = payment;
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.replayed {
            response
                .headers_mut()
                .insert(super::payments::REPLAYED, HeaderValue::from_static("true"));
        }
        response
    }
}

impl From<PaymentError> for ApiError {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::NotFound => ApiError::not_found("no such payment or refund"),
            PaymentError::Invalid {
                field,
                message,
                missing,
            } => {
                let code = if missing {
                    "parameter_missing"
                } else {
                    "parameter_invalid"
                };
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_request",
                    code,
                    format!("`{field}` {message}"),
                )
                .with_field(field)
            }
            PaymentError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, "conflict", code, message)
            }
            PaymentError::Unacceptable {
                code,
                message,
                field,
            } => {
                let e = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unprocessable",
                    code,
                    message,
                );
                match field {
                    Some(f) => e.with_field(f),
                    None => e,
                }
            }
            PaymentError::NoRoute(no) => {
                let wallet = no
                    .wallet
                    .map(|w| format!(" (wallet {w})"))
                    .unwrap_or_default();
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unprocessable",
                    "no_route",
                    format!(
                        "no channel of this tenant can serve this payment{wallet}: {}",
                        no.reasons.join("; ")
                    ),
                )
            }
            PaymentError::Channel {
                code,
                message,
                timeout,
                payment,
            } => {
                let status = if timeout {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::BAD_GATEWAY
                };
                let mut e = ApiError::new(status, "channel_error", code, message);
                e.payment = payment.and_then(|p| serde_json::to_value(*p).ok());
                e
            }
            PaymentError::Create {
                error,
                payment,
                replayed,
            } => {
                let (status, kind) = match error {
                    CreateError::ChannelRejectedRequest { .. } => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable")
                    }
                    CreateError::ChannelUnavailable { .. } => {
                        (StatusCode::BAD_GATEWAY, "channel_error")
                    }
                    CreateError::OutcomeUnknown { timeout: true, .. } => {
                        (StatusCode::GATEWAY_TIMEOUT, "channel_error")
                    }
                    CreateError::OutcomeUnknown { timeout: false, .. } => {
                        (StatusCode::BAD_GATEWAY, "channel_error")
                    }
                };
                let mut e = ApiError::new(status, kind, error.code(), error.message());
                e.payment = serde_json::to_value(*payment).ok();
                e.replayed = replayed;
                e
            }
            PaymentError::Store(cause) => {
                tracing::error!(error = %cause, "storage failure");
                ApiError::internal()
            }
            PaymentError::Ledger(cause) => {
                tracing::error!(error = %cause, "a card's ledger follow-up failed");
                ApiError::internal()
            }
        }
    }
}
