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
    let path = loggable_path(request.uri().path());
    let span =
        tracing::info_span!("request", request_id = %id, method = %request.method(), path = %path);
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    response
        .headers_mut()
        .insert(HEADER, HeaderValue::from_str(&id).expect("ids are ASCII"));
    response
}

/// The path as logged: a hosted page's link token is a capability (whoever
/// holds it sees the payment's page), so it is replaced by `{token}`.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in ["/pay/", "/q/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return format!("{prefix}{{token}}{tail}").into();
        }
    }
    path.into()
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn page_tokens_never_reach_the_logs() {
        assert_eq!(loggable_path("/pay/S998HD89DUhW4Xbx"), "/pay/{token}");
        assert_eq!(
            loggable_path("/pay/S998HD89DUhW4Xbx/status"),
            "/pay/{token}/status"
        );
        assert_eq!(loggable_path("/q/Lc1w8B4MX_G68xKm"), "/q/{token}");
        assert_eq!(loggable_path("/v1/payments/pay_1"), "/v1/payments/pay_1");
    }
}
