//! `Paycore-Request-Id`: on every response, in every error body, and on the
//! span every log line of the request is emitted in.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const HEADER: &str = "paycore-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

pub async fn tag(request: Request, next: Next) -> Response {
    let id = crate::domain::new_id("req");
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    response
        .headers_mut()
        .insert(HEADER, HeaderValue::from_str(&id).expect("ids are ASCII"));
    response
}
