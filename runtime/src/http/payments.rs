//! `/v1/payments`: create, read, sync, close, cancel.

use super::extract::{ApiJson, AuthTenant};
use super::{ApiError, AppState};
use crate::payments::request::PaymentBody;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/payments", post(create).get(find))
        .route("/v1/payments/{id}", get(read))
        .route("/v1/payments/{id}/sync", post(sync))
        .route("/v1/payments/{id}/close", post(close))
        .route("/v1/payments/{id}/cancel", post(cancel))
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";

async fn create(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PaymentBody>,
) -> Result<Response, ApiError> {
    let key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= 255 => Some(k.to_string()),
            _ => {
                return Err(ApiError::malformed(
                    "invalid_header",
                    "Idempotency-Key must be 1-255 visible ASCII characters",
                )
                .with_field("Idempotency-Key"));
            }
        },
    };
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
        response.headers_mut().insert(
            "idempotent-replayed",
            "true".parse().expect("static header"),
        );
    }
    Ok(response)
}

#[derive(Deserialize)]
struct FindQuery {
    merchant_order_no: Option<String>,
}

async fn find(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    Query(q): Query<FindQuery>,
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

async fn read(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.get(&t, &id).await?).into_response())
}

async fn sync(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.sync(&t, &id).await?).into_response())
}

async fn close(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.close(&t, &id).await?).into_response())
}

async fn cancel(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.payments.cancel(&t, &id).await?).into_response())
}
