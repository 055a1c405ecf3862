//! The operator's API under `/admin/`, behind the admin token.

use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(plugins))
        .routes(routes!(tenants))
}

/// Proof that the request carries the admin token.
struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        use subtle::ConstantTimeEq;
        let Some(expected) = &state.admin_token else {
            return Err(ApiError::not_found(
                "the admin API is disabled (no admin_token configured)",
            ));
        };
        let given = super::extract::bearer(parts).unwrap_or_default();
        if bool::from(given.as_bytes().ct_eq(expected.expose())) {
            Ok(Admin)
        } else {
            Err(ApiError::unauthorized("the admin token is not valid"))
        }
    }
}

/// Plugins loaded: name, version, contract version, digest, state.
#[utoipa::path(get, path = "/admin/plugins", tag = "admin", operation_id = "admin_plugins",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The loaded plugins", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
    )
)]
async fn plugins(_: Admin, State(s): State<AppState>) -> Json<Value> {
    let registry = s.payments.registry();
    let list: Vec<Value> = registry
        .plugins
        .iter()
        .map(|p| {
            let m = &p.manifest;
            json!({
                "name": m.name,
                "version": m.version.to_string(),
                "contract_version": m.contract_version.to_string(),
                "digest": format!("sha256:{}", p.digest),
                "state": "active",
                "scenes": m.scenes,
                "wallets": m.wallets,
                "currencies": m.currencies,
                "hosts": m.hosts,
            })
        })
        .collect();
    Json(json!({ "plugins": list }))
}

/// Tenants and their bound channels.
#[utoipa::path(get, path = "/admin/tenants", tag = "admin", operation_id = "admin_tenants",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The tenants", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
    )
)]
async fn tenants(_: Admin, State(s): State<AppState>) -> Json<Value> {
    let registry = s.payments.registry();
    let mut list: Vec<Value> = registry
        .tenants()
        .map(|t| {
            let channels: Vec<Value> = t
                .channels
                .iter()
                .map(|c| json!({ "id": c.id, "plugin": c.plugin.label() }))
                .collect();
            json!({ "id": t.config.id, "name": t.config.name, "channels": channels })
        })
        .collect();
    list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Json(json!({ "tenants": list }))
}
