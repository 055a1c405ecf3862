//! The HTTP edge: the only module that knows axum and the API's JSON shapes.
//! Each resource module exposes `router()`; they are merged here with one
//! shared state.

mod admin;
mod callbacks;
mod card_lifecycle;
mod card_report;
mod cards;
mod checkout;
mod coupons;
mod error;
mod events;
mod extract;
mod fairness;
mod health;
mod metrics;
mod openapi;
mod overhead;
mod payments;
mod qr_codes;
mod reconciliations;
mod refunds;
mod request_id;
mod routing;

pub use error::ApiError;

use crate::config::SecretValue;
use crate::payments::Payments;
use axum::Router;
use std::sync::Arc;

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub payments: Arc<Payments>,
    /// Cards and their values (the card API; payments reach it through
    /// the card programmes' plugins).
    pub ledger: crate::ledger::Ledger,
    pub admin_tokens: Vec<SecretValue>,
    pub metrics: crate::telemetry::Metrics,
    pub reloader: Arc<crate::reload::Reloader>,
    pub fairness: Arc<fairness::Fairness>,
}

/// Request bodies above this are refused before parsing.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub use openapi::document as openapi_document;

pub fn router(state: AppState) -> Router {
    let (routes, _) = openapi::api_router().split_for_parts();
    routes
        // The hosted cashier's pages: HTML for payers, outside the API's
        // OpenAPI document (its `/v1/qr-codes` endpoints are in it).
        .merge(checkout::router())
        // After every route is added: it is set on each path's methods.
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            fairness::admit,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(metrics::track))
        // Everything below the request id counts, metrics included.
        .layer(axum::middleware::from_fn(overhead::stamp))
        .layer(axum::middleware::from_fn(request_id::tag))
        .with_state(state)
}
