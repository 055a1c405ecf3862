//! Refunds: `/v1/payments/{id}/refunds` and `/v1/refunds/{id}`.

use super::extract::{ApiJson, ApiPath, AuthTenant};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use crate::domain::{PaymentId, RefundId};
use crate::payments::request::RefundBody;
use crate::payments::view::RefundView;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(read))
        .routes(routes!(sync))
}

/// Refund a succeeded payment, in full or in part.
///
/// The sum of refunds that are not `failed` never exceeds the payment
/// amount, also under concurrent requests. Idempotent on `merchant_refund_no`.
#[utoipa::path(post, path = "/v1/payments/{id}/refunds", tag = "refunds", operation_id = "create_refund",
    params(("id" = String, Path, description = "The payment id (`pay_…`)")),
    request_body(content = crate::payments::request::RefundBody, description = "The refund", example = json!({
        "merchant_refund_no": "R-0001", "amount": 1000, "reason": "one latte less"
    })),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created and submitted", body = RefundView),
        (status = 200, description = "A replay of an earlier identical request", body = RefundView),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such payment for this tenant", body = ErrorBody),
        (status = 409, description = "The refund number was used with another request", body = ErrorBody),
        (status = 422, description = "Missing or unacceptable field, payment not refundable, or above what remains", body = ErrorBody),
    )
)]
async fn create(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<PaymentId>,
    ApiJson(body): ApiJson<RefundBody>,
) -> Result<Response, ApiError> {
    let request = body
        .validate()
        .map_err(crate::payments::PaymentError::from)?;
    let (refund, replayed) = s.payments.create_refund(&t, &id, request).await?;
    let mut response = (
        if replayed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        Json(refund),
    )
        .into_response();
    if replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            "true".parse().expect("static header"),
        );
    }
    Ok(response)
}

/// Read a refund.
#[utoipa::path(get, path = "/v1/refunds/{id}", tag = "refunds", operation_id = "get_refund",
    params(("id" = String, Path, description = "The refund id (`re_…`)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The refund", body = RefundView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such refund for this tenant", body = ErrorBody),
    )
)]
async fn read(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<RefundId>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.get_refund(&t, &id).await?).into_response())
}

/// Query the channel about a refund now.
#[utoipa::path(post, path = "/v1/refunds/{id}/sync", tag = "refunds", operation_id = "sync_refund",
    params(("id" = String, Path, description = "The refund id (`re_…`)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The refund as it now stands", body = RefundView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such refund for this tenant", body = ErrorBody),
        (status = 422, description = "Not possible in the refund's state", body = ErrorBody),
        (status = 502, description = "The channel failed; nothing changed", body = ErrorBody),
        (status = 504, description = "The channel did not answer in time; nothing changed", body = ErrorBody),
    )
)]
async fn sync(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<RefundId>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.sync_refund(&t, &id).await?).into_response())
}
