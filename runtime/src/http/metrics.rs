//! `/metrics` in Prometheus text format, and the middleware that counts and
//! times every request by route template (never by concrete path, so ids
//! and order numbers never become labels).

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "Metrics in Prometheus text exposition format", content_type = "text/plain", body = String),
))]
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    s.payments.store().record_pool_gauges();
    if let Err(e) = s.payments.store().record_backlog_gauges().await {
        tracing::warn!(error = %e, "cannot read backlog gauges");
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        s.metrics.render(),
    )
}

pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("paycore_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("paycore_http_request_duration_seconds", "method" => method, "route" => route).record(elapsed);
    response
}
