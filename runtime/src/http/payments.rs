//! `/v1/payments`: create, read, sync, close, cancel.

use super::extract::{ApiJson, ApiPath, ApiQuery, AuthTenant};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use crate::domain::PaymentId;
use crate::payments::request::PaymentBody;
use crate::payments::view::PaymentView;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, find))
        .routes(routes!(read))
        .routes(routes!(sync))
        .routes(routes!(close))
        .routes(routes!(cancel))
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// On an answer that is a replay of an earlier identical create.
pub const REPLAYED: &str = "idempotent-replayed";

/// Create and submit a payment.
///
/// Idempotent on `merchant_order_no` (per tenant) and on the
/// `Idempotency-Key` header: the same request again answers as the first
/// did, with `Idempotent-Replayed: true` — 200 with the payment after a
/// 201, or the same status and error (`type`, `code`, `message`) after a
/// channel's error, with `error.payment` as it now stands. A different
/// request is 409. A payment the channel refused or failed is stored: its
/// order number is used, so send a corrected payment under a new
/// `merchant_order_no`.
#[utoipa::path(post, path = "/v1/payments", tag = "payments", operation_id = "create_payment",
    request_body(content = crate::payments::request::PaymentBody, description = "The payment", example = json!({
        "merchant_order_no": "A20261125001", "amount": 8888, "currency": "CNY", "scene": "barcode",
        "auth_code": "134567890124", "wallet": "sandbox", "subject": "2 x latte",
        "goods": [{ "id": "sku-1", "name": "latte", "quantity": 2, "unit_price": 4500, "discount": 112 }],
        "store_id": "shop-7", "terminal_id": "pos-2", "metadata": { "table": "12" }
    })),
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional key making retries safe")),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created and submitted (also when the channel declined: `status` is `failed`)", body = PaymentView),
        (status = 200, description = "A replay of an earlier identical request whose first answer was 201", body = PaymentView),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 409, description = "The order number or Idempotency-Key was used with another request", body = ErrorBody),
        (status = 422, description = "A field is missing or unacceptable, or no channel can serve the payment (nothing stored); or the channel refused the request before taking money (`channel_rejected_request`: `error.payment` is stored `failed`)", body = ErrorBody),
        (status = 502, description = "The channel could not take the payment and nothing was charged (`channel_unavailable`: `error.payment` is `failed`), or its plugin failed after the request left (`outcome_unknown`: `error.payment` is `unknown`; paycore queries it)", body = ErrorBody),
        (status = 504, description = "The channel timed out: the outcome is not known (`outcome_unknown`: `error.payment` is `unknown`; paycore queries it)", body = ErrorBody),
    )
)]
async fn create(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PaymentBody>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let request = body
        .validate()
        .map_err(crate::payments::PaymentError::from)?;
    let created = s.payments.create(&t, request, key).await?;
    let status = if created.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(created.payment)).into_response();
    if created.replayed {
        response
            .headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The `Idempotency-Key` header, if sent: 1-255 visible ASCII characters.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get(IDEMPOTENCY_KEY) {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= 255 => Ok(Some(k.to_string())),
            _ => Err(ApiError::malformed(
                "invalid_header",
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )
            .with_field("Idempotency-Key")),
        },
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FindQuery {
    /// The merchant's order number.
    merchant_order_no: Option<String>,
}

/// Find a payment by the merchant's order number.
#[utoipa::path(get, path = "/v1/payments", tag = "payments", operation_id = "find_payment",
    params(FindQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The payment", body = PaymentView),
        (status = 400, description = "`merchant_order_no` is missing", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such payment for this tenant", body = ErrorBody),
    )
)]
async fn find(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiQuery(q): ApiQuery<FindQuery>,
) -> Result<Response, ApiError> {
    let order_no = q.merchant_order_no.ok_or_else(|| {
        ApiError::malformed(
            "parameter_missing",
            "pass ?merchant_order_no=... to find a payment",
        )
        .with_field("merchant_order_no")
    })?;
    Ok(Json(s.payments.get_by_order_no(&t, &order_no).await?).into_response())
}

/// Read a payment.
#[utoipa::path(get, path = "/v1/payments/{id}", tag = "payments", operation_id = "get_payment",
    params(("id" = String, Path, description = "The payment id (`pay_…`)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The payment", body = PaymentView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such payment for this tenant", body = ErrorBody),
    )
)]
async fn read(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<PaymentId>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.get(&t, &id).await?).into_response())
}

/// Query the channel now and return the updated payment.
///
/// By the channel's order number, or by the merchant order number when the
/// channel's is unknown (after a timeout).
#[utoipa::path(post, path = "/v1/payments/{id}/sync", tag = "payments", operation_id = "sync_payment",
    params(("id" = String, Path, description = "The payment id (`pay_…`)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The payment as it now stands", body = PaymentView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such payment for this tenant", body = ErrorBody),
        (status = 422, description = "Not possible in the payment's state, or the channel refused", body = ErrorBody),
        (status = 502, description = "The channel failed; nothing changed (`error.payment`)", body = ErrorBody),
        (status = 504, description = "The channel did not answer in time; nothing changed (`error.payment`)", body = ErrorBody),
    )
)]
async fn sync(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<PaymentId>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.sync(&t, &id).await?).into_response())
}

/// Close an unpaid payment.
#[utoipa::path(post, path = "/v1/payments/{id}/close", tag = "payments", operation_id = "close_payment",
    params(("id" = String, Path, description = "The payment id (`pay_…`)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The payment as it now stands", body = PaymentView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such payment for this tenant", body = ErrorBody),
        (status = 422, description = "Not possible in the payment's state, or the channel refused", body = ErrorBody),
        (status = 502, description = "The channel failed; nothing changed (`error.payment`)", body = ErrorBody),
        (status = 504, description = "The channel did not answer in time; nothing changed (`error.payment`)", body = ErrorBody),
    )
)]
async fn close(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<PaymentId>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.close(&t, &id).await?).into_response())
}

/// Reverse a barcode or face payment (a paid one is refunded in full).
#[utoipa::path(post, path = "/v1/payments/{id}/cancel", tag = "payments", operation_id = "cancel_payment",
    params(("id" = String, Path, description = "The payment id (`pay_…`)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The payment as it now stands", body = PaymentView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such payment for this tenant", body = ErrorBody),
        (status = 422, description = "Not possible in the payment's state, or the channel refused", body = ErrorBody),
        (status = 502, description = "The channel failed; nothing changed (`error.payment`)", body = ErrorBody),
        (status = 504, description = "The channel did not answer in time; nothing changed (`error.payment`)", body = ErrorBody),
    )
)]
async fn cancel(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<PaymentId>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.cancel(&t, &id).await?).into_response())
}
