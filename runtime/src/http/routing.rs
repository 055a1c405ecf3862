//! `/v1/routing/explain`: how a payment would be routed now, without
//! creating anything.

use super::extract::{ApiJson, AuthTenant};
use super::{ApiError, AppState};
use crate::payments::request::PaymentBody;
use crate::routing::Explanation;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/routing/explain", post(explain))
}

async fn explain(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiJson(body): ApiJson<PaymentBody>,
) -> Result<Json<Explanation>, ApiError> {
    let request = body
        .validate()
        .map_err(crate::payments::PaymentError::from)?;
    Ok(Json(s.payments.explain(&t, &request)))
}
