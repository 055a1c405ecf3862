//! Extractors that reject in our own error shape: JSON bodies with the
//! offending field named, and the tenant behind an API key.

use super::{ApiError, AppState};
use crate::registry::Tenant;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes_body::read_body;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// A JSON body; syntax errors are `malformed_json`, type errors name the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would also read a struct from an array; the API only takes objects.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'[')) {
        return Err(ApiError::malformed(
            "invalid_type",
            "the body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::malformed(
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            )
        } else if path == "." {
            ApiError::malformed("invalid_type", "the body must be a JSON object")
        } else {
            ApiError::malformed("invalid_type", format!("`{path}`: {}", describe(&inner)))
                .with_field(path)
        }
    })?;
    de.end().map_err(|e| {
        ApiError::malformed(
            "malformed_json",
            format!("trailing data after the JSON body: {e}"),
        )
    })?;
    Ok(value)
}

/// serde's message without its "at line 1 column 9" suffix (the field says where).
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

mod bytes_body {
    use super::{ApiError, AppState};
    use axum::body::Bytes;
    use axum::extract::{FromRequest, Request};

    pub async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
        Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                "invalid_request",
                "body_unreadable",
                e.body_text(),
            )
        })
    }
}

/// The tenant named by `Authorization: Bearer <api key>`.
pub struct AuthTenant(pub Arc<Tenant>);

impl FromRequestParts<AppState> for AuthTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("send your API key as `Authorization: Bearer <key>`")
        })?;
        let registry = state.payments.registry();
        let tenant = registry
            .tenant_by_api_key(key)
            .ok_or_else(|| ApiError::unauthorized("the API key is not valid"))?;
        Ok(AuthTenant(tenant.clone()))
    }
}

pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}
