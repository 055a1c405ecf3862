//! `/v1/callbacks/{tenant}/{channel}`: channels' asynchronous notifications.
//! No API key: the channel's plugin verifies the signature, and the answer is
//! whatever the plugin says the channel expects.

use super::extract::ApiPath;
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use paycore_core::channel;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// Receive a channel's asynchronous notification.
///
/// No API key: the channel's plugin verifies the signature. Unverifiable
/// callbacks change nothing. The answer (status, headers, body) is what the
/// plugin says the channel expects.
#[utoipa::path(post, path = "/v1/callbacks/{tenant}/{channel}", tag = "callbacks", operation_id = "receive_callback",
    params(
        ("tenant" = String, Path, description = "The tenant id"),
        ("channel" = String, Path, description = "The tenant's channel id"),
    ),
    request_body(content = String, content_type = "application/octet-stream", description = "The channel's notification, as the channel sends it",
        example = json!("{\"event\":\"payment.succeeded\",\"out_trade_no\":\"A20261125001\"}")),
    responses(
        (status = 200, description = "Accepted; the body is what the channel expects (e.g. `success`)"),
        (status = 400, description = "The plugin refused the request"),
        (status = 401, description = "The signature did not verify; nothing changed"),
        (status = 404, description = "No such tenant or channel", body = ErrorBody),
        (status = 429, description = "Too many callbacks for this tenant; retry after `Retry-After` seconds", body = ErrorBody),
        (status = 500, description = "The plugin failed on this callback; the channel will retry"),
    )
)]
async fn receive(
    State(s): State<AppState>,
    ApiPath((tenant, channel)): ApiPath<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let registry = s.payments.registry();
    // One answer for an unknown tenant and an unknown channel, decided by
    // two map lookups before any work, so neither can be told apart.
    let tenant = registry
        .tenant(&tenant)
        .filter(|t| t.channel(&channel).is_some())
        .ok_or_else(|| ApiError::not_found("no such tenant or channel"))?;
    // Callbacks carry no key, so anyone can send them, and each costs a
    // plugin call: bounded per tenant, before the plugin runs.
    if let Err(refused) = s
        .fairness
        .admit_callback(&tenant.config.id, &tenant.config.limits)
    {
        return Ok(refused);
    }
    let request = channel::HttpRequest {
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
