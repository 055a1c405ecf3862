//! `/v1/reconciliations`: a channel's statement of one business day matched
//! against paycore (docs/reconciliation.md) — run on demand, read back with
//! its totals and the differences it found with both sides.

use super::extract::{ApiJson, ApiPath, ApiQuery, AuthTenant};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use crate::reconcile::{self, DifferenceView, ReconcileError, RunSummary};
use crate::store::{ReconciliationItem, ReconciliationRecord};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start, list))
        .routes(routes!(read))
}

/// A day to reconcile.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileBody {
    /// One of the tenant's channels.
    #[schema(example = "sandbox")]
    pub channel: String,
    /// The business day, `YYYY-MM-DD`, in the channel's time zone.
    #[schema(example = "2026-12-06")]
    pub date: String,
}

/// One reconciliation: a channel's business day.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationView {
    #[schema(example = "rec_5c1d0e6f7a8b9c0d1e2f3a4b")]
    pub id: String,
    pub channel: String,
    pub date: String,
    /// The channel's time zone, in which the day is dated.
    #[schema(example = "Asia/Shanghai")]
    pub time_zone: String,
    /// `running`, `completed`, or `failed` (see `failure`; nothing was
    /// changed by a failed run).
    pub status: String,
    pub failure: Option<String>,
    /// How many times the day was run.
    pub runs: i64,
    /// Differences left for a person (not counting lines still in flight).
    pub open_differences: i64,
    /// Counts, and per currency the statement's totals in minor units.
    pub summary: RunSummary,
    /// On `GET /v1/reconciliations/{id}`: each difference (and each line
    /// settled by a query or still in flight), with the channel's line and
    /// paycore's record as they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub differences: Option<Vec<DifferenceView>>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn view(run: &ReconciliationRecord, items: Option<&[ReconciliationItem]>) -> ReconciliationView {
    ReconciliationView {
        id: run.id.clone(),
        channel: run.channel_id.clone(),
        date: run.business_day.clone(),
        time_zone: run.time_zone.clone(),
        status: run.status.clone(),
        failure: run.failure.clone(),
        runs: run.runs,
        open_differences: run.open_differences,
        // A run that never completed has no summary yet.
        summary: serde_json::from_str(&run.summary).unwrap_or_default(),
        differences: items.map(|items| items.iter().map(DifferenceView::from).collect()),
        created_at: run.created_at.clone(),
        updated_at: run.updated_at.clone(),
    }
}

impl From<ReconcileError> for ApiError {
    fn from(e: ReconcileError) -> Self {
        let message = e.to_string();
        match e {
            ReconcileError::NotFound => ApiError::not_found("no such reconciliation"),
            ReconcileError::Invalid { field, .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "parameter_invalid",
                message,
            )
            .with_field(field),
            ReconcileError::Busy => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "reconciliation_running",
                message,
            ),
            ReconcileError::Store(cause) => {
                tracing::error!(error = %cause, "storage failure");
                ApiError::internal()
            }
        }
    }
}

/// Reconcile a channel's business day now.
///
/// Reads the channel's statement of the day through its plugin, matches
/// it against paycore's payments and refunds, asks the channel about each
/// difference a query can settle (an `unknown` payment the statement shows
/// paid becomes `succeeded`, with its event and webhook), and records what
/// remains. Running a day again replaces its findings; a difference raises
/// the `reconciliation.discrepancy` webhook once. A statement that cannot
/// be read or does not add up fails the run (`status: failed`) and changes
/// nothing.
#[utoipa::path(post, path = "/v1/reconciliations", tag = "reconciliations", operation_id = "reconcile",
    request_body(content = ReconcileBody, description = "The channel and day", example = json!({
        "channel": "sandbox", "date": "2026-12-06"
    })),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The run as it ended, with its differences", body = ReconciliationView),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 409, description = "The day is being reconciled right now", body = ErrorBody),
        (status = 422, description = "No such channel, or not a date", body = ErrorBody),
    )
)]
async fn start(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiJson(body): ApiJson<ReconcileBody>,
) -> Result<Json<ReconciliationView>, ApiError> {
    let run = reconcile::run(&s.payments, &t, &body.channel, &body.date).await?;
    let (run, items) = reconcile::get(&s.payments, &t.config.id, &run.id).await?;
    Ok(Json(view(&run, Some(&items))))
}

/// Read a reconciliation and its differences.
#[utoipa::path(get, path = "/v1/reconciliations/{id}", tag = "reconciliations", operation_id = "get_reconciliation",
    params(("id" = String, Path, description = "The reconciliation's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The reconciliation", body = ReconciliationView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such reconciliation for this tenant", body = ErrorBody),
    )
)]
async fn read(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ReconciliationView>, ApiError> {
    let (run, items) = reconcile::get(&s.payments, &t.config.id, &id).await?;
    Ok(Json(view(&run, Some(&items))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this channel's days.
    channel: Option<String>,
    /// The first business day, `YYYY-MM-DD` (default: the earliest).
    from: Option<String>,
    /// The last business day, `YYYY-MM-DD` (default: the latest).
    to: Option<String>,
}

/// A page of reconciliations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationList {
    pub data: Vec<ReconciliationView>,
}

/// List reconciliations, newest day first (at most 100), without their
/// differences.
#[utoipa::path(get, path = "/v1/reconciliations", tag = "reconciliations", operation_id = "list_reconciliations",
    params(ListQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The reconciliations", body = ReconciliationList),
        (status = 400, description = "A parameter of the wrong form", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
    )
)]
async fn list(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ReconciliationList>, ApiError> {
    for (field, value) in [("from", &q.from), ("to", &q.to)] {
        if let Some(day) = value
            && paycore_core::reconcile::business_day(day, "UTC").is_err()
        {
            return Err(ApiError::malformed(
                "parameter_invalid",
                format!("`{field}` must be a date, YYYY-MM-DD"),
            )
            .with_field(field));
        }
    }
    let runs = s
        .payments
        .store()
        .reconciliations(
            &t.config.id,
            q.channel.as_deref(),
            q.from.as_deref().unwrap_or("0000-01-01"),
            q.to.as_deref().unwrap_or("9999-12-31"),
            100,
        )
        .await
        .map_err(ReconcileError::from)?;
    Ok(Json(ReconciliationList {
        data: runs.iter().map(|r| view(r, None)).collect(),
    }))
}
