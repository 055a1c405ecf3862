//! Refunds: `/v1/payments/{id}/refunds` and `/v1/refunds/{id}`.

use super::extract::{ApiJson, AuthTenant};
use super::{ApiError, AppState};
use crate::payments::request::RefundBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/payments/{id}/refunds", post(create))
        .route("/v1/refunds/{id}", get(read))
        .route("/v1/refunds/{id}/sync", post(sync))
}

async fn create(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    Path(id): Path<String>,
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

async fn read(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.get_refund(&t, &id).await?).into_response())
}

async fn sync(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.sync_refund(&t, &id).await?).into_response())
}
