//! `/v1/routing/explain`: how a payment would be routed now, without
//! creating anything.

use super::extract::{ApiJson, AuthTenant};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use crate::payments::request::PaymentBody;
use crate::routing::Explanation;
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(explain))
}

/// Explain how a payment would be routed now, without creating anything:
/// the rule that matched, each candidate channel kept or skipped and why.
/// For a combined order (`tenders`): each tender's amount and channel, the
/// external tender's routing explained for its part; a tender that could
/// not pay is the same 422 as for a create.
#[utoipa::path(post, path = "/v1/routing/explain", tag = "payments", operation_id = "explain_routing",
    request_body(content = PaymentBody, description = "A payment body, as for create", example = json!({
        "merchant_order_no": "A20261125001", "amount": 8888, "currency": "CNY", "scene": "barcode",
        "auth_code": "134567890124", "wallet": "sandbox"
    })),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The explanation (also when no rule matches)", body = Object),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 422, description = "A field is missing or unacceptable", body = ErrorBody),
    )
)]
async fn explain(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiJson(body): ApiJson<PaymentBody>,
) -> Result<Json<Explained>, ApiError> {
    let request = body
        .validate()
        .map_err(crate::payments::PaymentError::from)?;
    if request.is_combined() {
        let combined = s.payments.explain_combined(&t, &request).await?;
        return Ok(Json(Explained::Combined(combined)));
    }
    Ok(Json(Explained::Single(s.payments.explain(&t, &request))))
}

/// A single payment's routing, or a combined order's tenders.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Explained {
    Single(Explanation),
    Combined(crate::payments::CombinedExplanation),
}
