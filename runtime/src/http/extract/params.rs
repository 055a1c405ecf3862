//! Path and query parameters. axum's own extractors answer a bad one in
//! plain text; these answer in the API's error shape, naming the parameter.

use super::super::ApiError;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::collections::HashSet;

/// Path parameters (ids, labels), percent-decoded.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_error(rejection)),
        }
    }
}

fn path_error(rejection: PathRejection) -> ApiError {
    // Server-side mistakes (a handler asking for parameters its route does
    // not have) are not the client's: logged, and answered as ours.
    if rejection.status().is_server_error() {
        tracing::error!(error = %rejection.body_text(), "path parameters do not fit the handler");
        return ApiError::internal();
    }
    match rejection {
        PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
            ErrorKind::InvalidUtf8InPathParam { key } => ApiError::malformed(
                "invalid_path",
                format!("the path parameter `{key}` is not valid UTF-8 once percent-decoded"),
            )
            .with_field(key.clone()),
            _ => ApiError::malformed("invalid_path", e.body_text()),
        },
        other => ApiError::malformed("invalid_path", other.body_text()),
    }
}

/// Query parameters, each given at most once: `?a=1&a=2` is refused rather
/// than read as either value.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        if let Some(name) = repeated_parameter(query) {
            return Err(ApiError::malformed(
                "parameter_repeated",
                format!("`{name}` is given more than once; give each query parameter once"),
            )
            .with_field(name));
        }
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| ApiError::malformed("invalid_query", e.body_text()))
    }
}

/// The first parameter name that appears twice in `query`, as decoded.
fn repeated_parameter(query: &str) -> Option<String> {
    let mut seen = HashSet::new();
    form_urlencoded::parse(query.as_bytes())
        .map(|(name, _)| name)
        .find(|name| !seen.insert(name.clone()))
        .map(|name| name.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    #[test]
    fn a_parameter_given_twice_is_found_however_it_is_spelled() {
        assert_eq!(repeated_parameter("a=1&b=2"), None);
        assert_eq!(repeated_parameter(""), None);
        assert_eq!(repeated_parameter("a=1&a=2").as_deref(), Some("a"));
        assert_eq!(repeated_parameter("a=1&b=2&a").as_deref(), Some("a"));
        assert_eq!(repeated_parameter("a=1&%61=2").as_deref(), Some("a"));
    }

    /// Status and body of a GET through a router that reads `{id}`.
    async fn path_of(uri: &str) -> (u16, String) {
        let router = axum::Router::new().route(
            "/p/{id}",
            axum::routing::get(|ApiPath(id): ApiPath<String>| async move { id }),
        );
        let request = Request::get(uri).body(axum::body::Body::empty()).unwrap();
        let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_path_id_that_is_not_utf8_is_refused_in_our_shape() {
        assert_eq!(path_of("/p/pay_1").await, (200, "pay_1".into()));
        assert_eq!(path_of("/p/pay_%E2%82%AC").await, (200, "pay_€".into()));
        let (status, body) = path_of("/p/pay_%ff%fe").await;
        assert_eq!(status, 400);
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], "invalid_path");
        assert_eq!(error["error"]["field"], "id");
    }
}
