//! The operator's API under `/admin/`, behind the admin token.

use super::{ApiError, AppState};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/plugins", get(plugins))
        .route("/admin/tenants", get(tenants))
        .route("/admin/channels", get(channels))
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

/// Every tenant channel with its plugin and circuit breaker.
async fn channels(_: Admin, State(s): State<AppState>) -> Json<Value> {
    let registry = s.payments.registry();
    let now = jiff::Timestamp::now();
    let mut list: Vec<Value> = Vec::new();
    for t in registry.tenants() {
        for c in &t.config.channels {
            let bound = t.channel(&c.id);
            let b = s.payments.health().view(t, &c.id, now);
            let mut entry = json!({
                "tenant": t.config.id,
                "channel": c.id,
                "enabled": c.enabled,
                "plugin": bound.map(|b| b.plugin.label()),
                "breaker": b.state,
                "consecutive_failures": b.consecutive_failures,
            });
            if let Some(why) = b.last_failure {
                entry["last_failure"] = json!(why);
            }
            list.push(entry);
        }
    }
    list.sort_by(|a, b| {
        (a["tenant"].as_str(), a["channel"].as_str())
            .cmp(&(b["tenant"].as_str(), b["channel"].as_str()))
    });
    Json(json!({ "channels": list }))
}
