//! `/v1/events`: a tenant's merchant webhooks with their delivery state, and
//! manual redelivery. Tenant-scoped: another tenant's ids are 404.

use super::extract::{ApiPath, ApiQuery, AuthTenant};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use crate::payments::PaymentError;
use crate::store::OutboxRecord;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(redeliver))
}

/// The event exactly as the webhook carries it, plus how its delivery went.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event)]
struct EventView {
    #[schema(example = "evt_5b1c0e3b9a7d4e2f8a1b2c3d")]
    id: String,
    /// `payment.succeeded|failed|closed|cancelled`, `refund.succeeded|failed`.
    #[serde(rename = "type")]
    kind: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: Value,
    payment_id: Option<String>,
    /// The payment or refund object as the webhook carried it.
    #[schema(value_type = Object)]
    data: Value,
    delivery: Delivery,
}

/// The events of a payment.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EventList)]
#[allow(dead_code)]
struct EventList {
    data: Vec<EventView>,
}

#[derive(Debug, Serialize, ToSchema)]
struct Delivery {
    /// `pending` (first attempt, or a redelivery, due), `retrying` (after a
    /// failed attempt), `delivered`, or `dead` (the retry schedule is spent;
    /// `redeliver` starts it again).
    #[schema(value_type = String)]
    status: &'static str,
    url: String,
    attempts: i64,
    last_error: Option<String>,
    last_attempt_at: Option<String>,
    next_attempt_at: Option<String>,
    delivered_at: Option<String>,
}

impl From<OutboxRecord> for EventView {
    fn from(r: OutboxRecord) -> Self {
        let payload: Value = serde_json::from_str(&r.payload).unwrap_or(Value::Null);
        let status = if r.delivered_at.is_some() {
            "delivered"
        } else if r.dead {
            "dead"
        } else if r.retry_step > 0 {
            "retrying"
        } else {
            "pending"
        };
        let next_attempt_at = matches!(status, "pending" | "retrying")
            .then(|| rfc3339_of_millis(r.next_attempt_ms))
            .flatten();
        EventView {
            created_at: payload
                .get("created_at")
                .cloned()
                .unwrap_or_else(|| json!(r.created_at)),
            data: payload.get("data").cloned().unwrap_or(Value::Null),
            id: r.id,
            kind: r.event_type,
            payment_id: r.payment_id.map(|p| p.to_string()),
            delivery: Delivery {
                status,
                url: r.url,
                attempts: r.attempts,
                last_error: r.last_error,
                last_attempt_at: r.last_attempt_at,
                next_attempt_at,
                delivered_at: r.delivered_at,
            },
        }
    }
}

fn rfc3339_of_millis(ms: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The payment whose events (and its refunds' events) to list.
    payment_id: Option<String>,
}

/// List a payment's merchant webhooks with their delivery state.
#[utoipa::path(get, path = "/v1/events", tag = "events", operation_id = "list_events",
    params(ListQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The payment's events, oldest first", body = EventList),
        (status = 400, description = "`payment_id` is missing", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such payment for this tenant", body = ErrorBody),
    )
)]
async fn list(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let Some(payment_id) = q
        .payment_id
        .filter(|p| !p.is_empty())
        .map(crate::domain::PaymentId::from)
    else {
        return Err(ApiError::malformed(
            "parameter_missing",
            "`payment_id` is required: GET /v1/events?payment_id=pay_...",
        )
        .with_field("payment_id"));
    };
    // 404 for an id that is not this tenant's, like every other read.
    s.payments.get(&t, &payment_id).await?;
    let events = s
        .payments
        .store()
        .events_of_payment(&t.config.id, &payment_id)
        .await
        .map_err(PaymentError::from)?;
    let data: Vec<EventView> = events.into_iter().map(EventView::from).collect();
    Ok(Json(json!({ "data": data })).into_response())
}

/// Send an event's webhook again (restarts its retry schedule).
#[utoipa::path(post, path = "/v1/events/{id}/redeliver", tag = "events", operation_id = "redeliver_event",
    params(("id" = String, Path, description = "The event id (`evt_…`)")),
    security(("api_key" = [])),
    responses(
        (status = 202, description = "Queued for delivery now", body = EventView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such event for this tenant", body = ErrorBody),
    )
)]
async fn redeliver(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let event = s
        .payments
        .store()
        .redeliver_webhook(&t.config.id, &id)
        .await
        .map_err(PaymentError::from)?
        .ok_or_else(|| ApiError::not_found("no such event"))?;
    tracing::info!(tenant = %t.config.id, event_id = %id, "webhook redelivery requested");
    Ok((StatusCode::ACCEPTED, Json(EventView::from(event))).into_response())
}
