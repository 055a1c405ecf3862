//! The OpenAPI 3.1 document, generated from the handlers' own annotations
//! and types (utoipa), so it cannot drift from the code. Served at
//! `/openapi.json`; `docs/openapi.json` is its committed snapshot.

mod edges;

use super::AppState;
use axum::Json;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "paycore cashier API",
        version = "1.0.0",
        description = "One cashier API in front of every payment channel. Money is integer minor units plus an ISO 4217 currency. Tenants authenticate with `Authorization: Bearer <api key>` (one header, one space, no whitespace around the key); the operator's endpoints under /admin take the admin token. Bodies are JSON sent with `Content-Type: application/json`. Every error is `{\"error\":{\"type\",\"code\",\"message\",\"field\"?,\"request_id\"}}` and every answer carries `Paycore-Request-Id`; a method a path does not take is 405 with `Allow`. See docs/api.md.",
    ),
    modifiers(&Security),
    tags(
        (name = "payments", description = "Create, read, sync, close and cancel payments"),
        (name = "refunds", description = "Partial and full refunds"),
        (name = "cards", description = "Member stored-value cards, gift cards, vouchers, punch cards and coupons on the ledger paycore keeps; pay with them through POST /v1/payments"),
        (name = "checkout", description = "The hosted cashier: static QR codes for stores and terminals (the payment page itself is HTML at `/pay/{token}` and `/q/{token}`)"),
        (name = "reconciliations", description = "Each channel's daily statement matched against paycore (对账): differences found, re-checked and settled"),
        (name = "callbacks", description = "Asynchronous notifications from channels"),
        (name = "events", description = "Merchant webhooks: the events of a payment and their delivery state"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "admin", description = "The operator's view"),
    ),
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme("api_key", bearer("A tenant's API key"));
        components.add_security_scheme("admin_token", bearer("The operator's admin token"));
    }
}

/// The error shape every 4xx and 5xx answer has.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// `invalid_request`, `authentication_error`, `not_found`, `conflict`,
    /// `unprocessable`, `channel_error`, `internal_error`.
    #[schema(example = "invalid_request")]
    r#type: String,
    #[schema(example = "parameter_invalid")]
    code: String,
    #[schema(example = "`amount` must be a positive integer number of minor units")]
    message: String,
    /// The offending field, when one is to blame.
    #[schema(example = "amount")]
    field: Option<String>,
    /// The `Paycore-Request-Id` of the request.
    request_id: Option<String>,
    /// On a create's channel errors (422 `channel_rejected_request`, 502,
    /// 504; replays included) and on channel failures of sync, close and
    /// cancel: the payment as it now stands (`unknown` when money may have
    /// moved).
    payment: Option<crate::payments::view::PaymentView>,
}

/// All documented routes; `http::router` serves exactly these.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(super::payments::router())
        .merge(super::refunds::router())
        .merge(super::qr_codes::router())
        .merge(super::cards::router())
        .merge(super::coupons::router())
        .merge(super::card_lifecycle::router())
        .merge(super::card_report::router())
        .merge(super::reconciliations::router())
        .merge(super::routing::router())
        .merge(super::callbacks::router())
        .merge(super::events::router())
        .merge(super::health::router())
        .merge(super::admin::router())
        .merge(super::metrics::router())
        .routes(routes!(openapi_json))
}

/// The document alone, for tests and the snapshot.
pub fn document() -> Document {
    let mut doc = api_router().into_openapi();
    edges::document(&mut doc);
    doc
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json() -> Json<Document> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::Operation;

    fn operations(doc: &Document) -> Vec<(String, String, &Operation)> {
        let mut out = Vec::new();
        for (path, item) in &doc.paths.paths {
            let methods = [
                ("get", &item.get),
                ("post", &item.post),
                ("put", &item.put),
                ("delete", &item.delete),
                ("patch", &item.patch),
            ];
            for (method, op) in methods {
                if let Some(op) = op {
                    out.push((method.to_string(), path.clone(), op));
                }
            }
        }
        out
    }

    /// The cashier API contract (API.md): each of these must be served and documented.
    const CONTRACT: &[(&str, &str)] = &[
        ("post", "/v1/payments"),
        ("get", "/v1/payments"),
        ("get", "/v1/payments/{id}"),
        ("post", "/v1/payments/{id}/sync"),
        ("post", "/v1/payments/{id}/close"),
        ("post", "/v1/payments/{id}/cancel"),
        ("post", "/v1/payments/{id}/refunds"),
        ("get", "/v1/refunds/{id}"),
        ("post", "/v1/refunds/{id}/sync"),
        ("post", "/v1/callbacks/{tenant}/{channel}"),
        ("get", "/v1/events"),
        ("post", "/v1/events/{id}/redeliver"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
        ("get", "/admin/plugins"),
        ("get", "/admin/tenants"),
        ("get", "/admin/status"),
        ("get", "/admin/channels"),
        ("post", "/admin/plugins/{label}/approve"),
        ("post", "/admin/plugins/{name}/rollback"),
        ("post", "/admin/plugins/{label}/restore"),
        ("post", "/v1/routing/explain"),
        ("post", "/v1/coupons"),
        ("get", "/v1/coupons/{code}"),
        ("post", "/admin/reload"),
        ("post", "/admin/channels/{tenant}/{channel}/recording"),
        ("delete", "/admin/channels/{tenant}/{channel}/recording"),
    ];

    #[test]
    fn every_contract_endpoint_is_documented() {
        let doc = document();
        let documented: Vec<(String, String)> = operations(&doc)
            .into_iter()
            .map(|(m, p, _)| (m, p))
            .collect();
        for (method, path) in CONTRACT {
            assert!(
                documented.contains(&(method.to_string(), path.to_string())),
                "{method} {path} is not documented"
            );
        }
    }

    #[test]
    fn every_operation_has_a_summary_responses_and_request_examples() {
        let doc = document();
        for (method, path, op) in operations(&doc) {
            let name = format!("{method} {path}");
            assert!(
                op.summary.as_deref().is_some_and(|s| !s.is_empty()),
                "{name}: no summary (doc comment)"
            );
            assert!(!op.responses.responses.is_empty(), "{name}: no responses");
            if let Some(utoipa::openapi::RefOr::T(body)) = &op.request_body {
                for (content_type, content) in &body.content {
                    let has_example = match content {
                        utoipa::openapi::RefOr::T(c) => {
                            c.example.is_some() || !c.examples.is_empty()
                        }
                        utoipa::openapi::RefOr::Ref(_) => false,
                    };
                    assert!(
                        has_example,
                        "{name}: request body {content_type} has no example"
                    );
                }
            }
            let errors_documented = op
                .responses
                .responses
                .keys()
                .filter(|s| s.starts_with('4') || s.starts_with('5'))
                .count();
            let public = path.starts_with("/v1/") && !path.starts_with("/v1/callbacks");
            if public {
                assert!(
                    errors_documented > 0,
                    "{name}: no error responses documented"
                );
                assert!(op.security.is_some(), "{name}: no security requirement");
            }
        }
    }

    /// The committed snapshot must match the generated document. After an
    /// intended API change, regenerate it with
    /// `PAYCORE_UPDATE_OPENAPI=1 cargo test -p paycore openapi`.
    /// utoipa's `IntoParams` puts a struct's fields in the path unless told
    /// otherwise: a query parameter documented as a path one is unusable
    /// by a generated client (and unexercised by the API fuzzing).
    #[test]
    fn path_parameters_are_segments_of_their_path() {
        let doc = document();
        for (method, path, op) in operations(&doc) {
            for parameter in op.parameters.iter().flatten() {
                let utoipa::openapi::RefOr::T(parameter) = parameter else {
                    continue;
                };
                if parameter.parameter_in == utoipa::openapi::path::ParameterIn::Path {
                    assert!(
                        path.contains(&format!("{{{}}}", parameter.name)),
                        "{method} {path}: `{}` is documented in the path; mark its struct \
                         `#[into_params(parameter_in = Query)]`",
                        parameter.name
                    );
                }
            }
        }
    }

    #[test]
    fn the_committed_snapshot_is_current() {
        let generated =
            serde_json::to_string_pretty(&document()).expect("the document serialises") + "\n";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        if std::env::var_os("PAYCORE_UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).expect("writing the snapshot");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json is stale: the API changed. Review the change, then run \
             `PAYCORE_UPDATE_OPENAPI=1 cargo test -p paycore openapi` and commit the snapshot."
        );
    }
}
