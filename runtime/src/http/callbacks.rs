//! `/v1/callbacks/{tenant}/{channel}`: channels' asynchronous notifications.
//! No API key: the channel's plugin verifies the signature, and the answer is
//! whatever the plugin says the channel expects.

use super::{ApiError, AppState};
use crate::plugin_host::wit;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/callbacks/{tenant}/{channel}", post(receive))
}

async fn receive(
    State(s): State<AppState>,
    Path((tenant, channel)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let registry = s.payments.registry();
    let tenant = registry
        .tenant(&tenant)
        .ok_or_else(|| ApiError::not_found("no such tenant or channel"))?;
    let request = wit::HttpRequest {
        method: method.to_string(),
        url: uri.to_string(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let reply = s
        .payments
        .handle_callback(tenant, &channel, request)
        .await?;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = (status, reply.body).into_response();
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            response.headers_mut().insert(k, v);
        }
    }
    Ok(response)
}
