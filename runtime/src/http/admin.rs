//! The operator's API under `/admin/`, behind the admin token.

use super::extract::{ApiPath, BearerProblem, bearer};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use crate::reload::{DecisionError, RecordingError, Status};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(plugins))
        .routes(routes!(tenants))
        .routes(routes!(channels))
        .routes(routes!(status))
        .routes(routes!(reload))
        .routes(routes!(approve))
        .routes(routes!(rollback))
        .routes(routes!(restore))
        .routes(routes!(start_recording, stop_recording))
}

/// Proof that the request carries the admin token.
struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.admin_tokens.is_empty() {
            return Err(ApiError::not_found(
                "the admin API is disabled (no admin_token configured)",
            ));
        }
        let given = match bearer(&parts.headers) {
            Ok(token) => token,
            Err(BearerProblem::Repeated) => return Err(BearerProblem::Repeated.into()),
            // Compared like a wrong token, so a missing one takes as long.
            Err(_) => "",
        };
        // Every token is compared (no early exit), each in constant time.
        let matched = state.admin_tokens.iter().fold(false, |matched, expected| {
            crate::config::api_keys::token_matches(expected.expose(), given) | matched
        });
        if matched {
            Ok(Admin)
        } else {
            Err(ApiError::unauthorized("the admin token is not valid"))
        }
    }
}

/// Every plugin file: live, draining or refused (with the reason), with
/// version, contract version, digest, load time and calls in flight.
#[utoipa::path(get, path = "/admin/plugins", tag = "admin", operation_id = "admin_plugins",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The loaded plugins", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
    )
)]
async fn plugins(_: Admin, State(s): State<AppState>) -> Json<Value> {
    let status = s.reloader.status();
    let registry = s.payments.registry();
    let list: Vec<Value> = status
        .plugins
        .iter()
        .map(|p| {
            let mut entry = serde_json::to_value(p).expect("statuses serialise");
            // Capabilities, for the live and draining ones.
            let loaded = registry
                .plugins
                .iter()
                .find(|x| format!("sha256:{}", x.digest) == p.digest);
            if let Some(m) = loaded.map(|x| &x.manifest) {
                entry["scenes"] = json!(m.scenes);
                entry["wallets"] = json!(m.wallets);
                entry["currencies"] = json!(m.currencies);
                entry["hosts"] = json!(m.hosts);
            }
            entry
        })
        .collect();
    Json(json!({ "generation": status.generation, "plugins": list }))
}

/// Config generation, the last reload's trigger, time and problems.
#[utoipa::path(get, path = "/admin/status", tag = "admin", operation_id = "admin_status",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The reload status", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
    )
)]
async fn status(_: Admin, State(s): State<AppState>) -> Result<Json<StatusAnswer>, ApiError> {
    let status = s.reloader.status();
    // What the sweeper keeps asking about in vain: a person should look.
    let unsettled = s.payments.unsettled(UNSETTLED_LISTED).await?;
    Ok(Json(StatusAnswer {
        reloaded: Reloaded::of(&status),
        reloaded_at: status.reloaded_at.clone(),
        trigger: status.trigger.clone(),
        unsettled: serde_json::to_value(unsettled).expect("the report serialises"),
    }))
}

/// How many unsettled payments and refunds `/admin/status` lists (all are counted).
const UNSETTLED_LISTED: i64 = 20;

/// Rescan the plugins folder and the config now; answers with the result.
#[utoipa::path(post, path = "/admin/reload", tag = "admin", operation_id = "admin_reload",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The reload status after the rescan", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
    )
)]
async fn reload(_: Admin, State(s): State<AppState>) -> Json<Reloaded> {
    let status = s.reloader.reload("admin").await;
    Json(Reloaded::of(&status))
}

// `Reloaded`, `StatusAnswer` and `Decided` keep their fields in
// alphabetical order: they were `json!` objects, which serde_json writes
// with sorted keys, and their bodies stay byte for byte what they were
// (a test below holds them to it).

/// What the last reload left: `POST /admin/reload`, and the first part of
/// `/admin/status`.
#[derive(Debug, Serialize)]
struct Reloaded {
    config_current: bool,
    differences: Vec<String>,
    errors: Vec<String>,
    generation: u64,
    /// Plainly: does what serves match the plugins and configs on disk?
    in_sync: bool,
}

impl Reloaded {
    fn of(status: &Status) -> Self {
        Reloaded {
            config_current: status.config_current,
            differences: status.differences.clone(),
            errors: status.errors.clone(),
            generation: status.generation,
            in_sync: status.differences.is_empty(),
        }
    }
}

/// `/admin/status`: the last reload, when and why it ran, and what the
/// sweeper cannot settle.
#[derive(Debug, Serialize)]
struct StatusAnswer {
    #[serde(flatten)]
    reloaded: Reloaded,
    reloaded_at: String,
    trigger: String,
    /// The report as a JSON value, whose keys are sorted as they always were.
    unsettled: Value,
}

/// Tenants, where each is defined, and their bound channels.
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
            // Where it is defined: a file of the tenants folder, or
            // `published:ID@rN` for a config published to the database.
            let source = t.config.source.display().to_string();
            json!({ "id": t.config.id, "name": t.config.name, "source": source, "channels": channels })
        })
        .collect();
    list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Json(json!({ "tenants": list }))
}

/// Every tenant channel with its bound plugin and circuit breaker state.
#[utoipa::path(get, path = "/admin/channels", tag = "admin", operation_id = "admin_channels",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The channels and their breakers", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
    )
)]
async fn channels(_: Admin, State(s): State<AppState>) -> Json<Value> {
    let registry = s.payments.registry();
    let now = s.payments.clock().now();
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

/// What an operator's decision answers: the reload it caused, and for a
/// rollback the version it took out of service.
#[derive(Debug, Serialize)]
struct Decided {
    errors: Vec<String>,
    generation: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    rolled_back: Option<String>,
}

impl Decided {
    fn of(status: &Status, rolled_back: Option<String>) -> Self {
        Decided {
            errors: status.errors.clone(),
            generation: status.generation,
            rolled_back,
        }
    }
}

/// A decision that does not fit what is loaded is refused (422
/// `plugin_decision_refused`, saying why); one the database could not
/// read or record is paycore's own failure (500 `internal`), logged here.
fn decision_error(e: DecisionError) -> ApiError {
    match e {
        DecisionError::NotAwaitingApproval { .. }
        | DecisionError::NotServing { .. }
        | DecisionError::NothingToRollBackTo { .. }
        | DecisionError::NotRolledBack { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            "plugin_decision_refused",
            e.to_string(),
        ),
        DecisionError::Store(_) => {
            tracing::error!(error = %e, "operator decision not applied: storage failure");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal",
                "paycore could not record the decision because its database failed; try again",
            )
        }
    }
}

/// Approve a plugin version that asks for hosts or secrets its predecessor
/// did not; it goes live at once.
#[utoipa::path(post, path = "/admin/plugins/{label}/approve", tag = "admin", operation_id = "admin_approve_plugin",
    params(("label" = String, Path, description = "`name@version`, e.g. `alipay@1.3.0`")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Approved and reloaded", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
        (status = 422, description = "That version is not awaiting approval", body = ErrorBody),
        (status = 500, description = "The database could not record the decision", body = ErrorBody),
    )
)]
async fn approve(
    _: Admin,
    State(s): State<AppState>,
    ApiPath(label): ApiPath<String>,
) -> Result<Json<Decided>, ApiError> {
    let status = s.reloader.approve(&label).await.map_err(decision_error)?;
    Ok(Json(Decided::of(&status, None)))
}

/// Roll a plugin back: its newest version stops serving and every channel
/// returns to the previous version.
#[utoipa::path(post, path = "/admin/plugins/{name}/rollback", tag = "admin", operation_id = "admin_rollback_plugin",
    params(("name" = String, Path, description = "The plugin name, e.g. `alipay`")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Rolled back and reloaded", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
        (status = 422, description = "Nothing to roll back to", body = ErrorBody),
        (status = 500, description = "The database could not record the decision", body = ErrorBody),
    )
)]
async fn rollback(
    _: Admin,
    State(s): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Decided>, ApiError> {
    let (label, status) = s.reloader.rollback(&name).await.map_err(decision_error)?;
    Ok(Json(Decided::of(&status, Some(label))))
}

/// Put a rolled-back plugin version back into service.
#[utoipa::path(post, path = "/admin/plugins/{label}/restore", tag = "admin", operation_id = "admin_restore_plugin",
    params(("label" = String, Path, description = "`name@version`")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Restored and reloaded", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
        (status = 422, description = "That version is not rolled back", body = ErrorBody),
        (status = 500, description = "The database could not record the decision", body = ErrorBody),
    )
)]
async fn restore(
    _: Admin,
    State(s): State<AppState>,
    ApiPath(label): ApiPath<String>,
) -> Result<Json<Decided>, ApiError> {
    let status = s.reloader.restore(&label).await.map_err(decision_error)?;
    Ok(Json(Decided::of(&status, None)))
}

/// Start recording a channel's plugin calls (inputs, host answers, outputs;
/// secrets redacted) to a new file, for `paycore plugin replay`.
#[utoipa::path(post, path = "/admin/channels/{tenant}/{channel}/recording", tag = "admin", operation_id = "admin_start_recording",
    params(
        ("tenant" = String, Path, description = "The tenant id"),
        ("channel" = String, Path, description = "The channel id"),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Recording; the file it writes to", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
        (status = 422, description = "No such channel, or the file cannot be written", body = ErrorBody),
    )
)]
async fn start_recording(
    _: Admin,
    State(s): State<AppState>,
    ApiPath((tenant, channel)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    match s.reloader.start_recording(&tenant, &channel) {
        Ok(file) => Ok(Json(json!({ "recording": file.display().to_string() }))),
        Err(e) => Err(recording_refused(e)),
    }
}

/// Stop recording a channel's plugin calls.
#[utoipa::path(delete, path = "/admin/channels/{tenant}/{channel}/recording", tag = "admin", operation_id = "admin_stop_recording",
    params(
        ("tenant" = String, Path, description = "The tenant id"),
        ("channel" = String, Path, description = "The channel id"),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Stopped; the file and how many calls it holds", body = Object),
        (status = 401, description = "No or bad admin token", body = ErrorBody),
        (status = 404, description = "The admin API is disabled", body = ErrorBody),
        (status = 422, description = "That channel is not being recorded", body = ErrorBody),
    )
)]
async fn stop_recording(
    _: Admin,
    State(s): State<AppState>,
    ApiPath((tenant, channel)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    match s.reloader.stop_recording(&tenant, &channel) {
        Ok((file, calls)) => Ok(Json(
            json!({ "recording": file.display().to_string(), "calls": calls }),
        )),
        Err(e) => Err(recording_refused(e)),
    }
}

/// Every recording error is the operator's to fix (a channel that does
/// not exist or is not recording, a recordings folder paycore may not
/// write): 422 `recording_refused`, saying why.
fn recording_refused(e: RecordingError) -> ApiError {
    match e {
        RecordingError::NoSuchChannel { .. }
        | RecordingError::NotRecording { .. }
        | RecordingError::File(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            "recording_refused",
            e.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StoreError, Unsettled, UnsettledReport};

    /// The answers are byte for byte the `json!` objects they replaced.
    #[test]
    fn the_reload_and_decision_answers_keep_their_bodies() {
        let status = Status {
            generation: 7,
            reloaded_at: "2025-01-02T03:04:05Z".into(),
            trigger: "admin".into(),
            config_current: false,
            errors: vec!["tenants/a.toml:1:1: bad".into()],
            differences: vec!["sandbox.wasm holds sandbox@1.1.0".into()],
            plugins: Vec::new(),
        };
        let unsettled = UnsettledReport {
            payments: 1,
            refunds: 0,
            oldest: vec![Unsettled {
                kind: "payment".into(),
                id: "pay_1".into(),
                tenant_id: "demo".into(),
                status: "unknown".into(),
                checks: 12,
                created_at: "2025-01-01T00:00:00Z".into(),
            }],
        };

        assert_eq!(
            body(&Reloaded::of(&status)),
            json!({
                "generation": status.generation,
                "config_current": status.config_current,
                "in_sync": status.differences.is_empty(),
                "differences": status.differences,
                "errors": status.errors,
            })
            .to_string()
        );
        let answer = StatusAnswer {
            reloaded: Reloaded::of(&status),
            reloaded_at: status.reloaded_at.clone(),
            trigger: status.trigger.clone(),
            unsettled: serde_json::to_value(&unsettled).unwrap(),
        };
        assert_eq!(
            body(&answer),
            json!({
                "generation": status.generation,
                "reloaded_at": status.reloaded_at,
                "trigger": status.trigger,
                "config_current": status.config_current,
                "in_sync": status.differences.is_empty(),
                "differences": status.differences,
                "errors": status.errors,
                "unsettled": unsettled,
            })
            .to_string()
        );
        assert_eq!(
            body(&Decided::of(&status, None)),
            json!({ "generation": status.generation, "errors": status.errors }).to_string()
        );
        let label = "sandbox@1.1.0";
        assert_eq!(
            body(&Decided::of(&status, Some(label.into()))),
            json!({ "rolled_back": label, "generation": status.generation, "errors": status.errors })
                .to_string()
        );
    }

    /// An answer's body as axum's `Json` writes it.
    fn body(answer: &impl Serialize) -> String {
        serde_json::to_string(answer).unwrap()
    }

    #[test]
    fn a_decision_the_database_failed_is_a_5xx_and_a_refused_one_a_422() {
        let failed = decision_error(DecisionError::Store(StoreError::Db(
            sqlx::Error::PoolTimedOut,
        )));
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!((failed.kind, failed.code), ("internal_error", "internal"));
        assert!(
            !failed.message.contains("pool"),
            "the cause is logged, not shown: {}",
            failed.message
        );

        let refused = [
            (
                DecisionError::NotAwaitingApproval {
                    label: "alipay@1.3.0".into(),
                },
                "alipay@1.3.0 is not awaiting approval",
            ),
            (
                DecisionError::NotServing {
                    name: "alipay".into(),
                },
                "no version of `alipay` is serving",
            ),
            (
                DecisionError::NothingToRollBackTo {
                    name: "alipay".into(),
                    label: "alipay@1.3.0".into(),
                },
                "alipay@1.3.0 is the only version of `alipay` loaded; there is nothing to roll back to",
            ),
            (
                DecisionError::NotRolledBack {
                    label: "alipay@1.3.0".into(),
                },
                "alipay@1.3.0 is not rolled back",
            ),
        ];
        for (error, message) in refused {
            let e = decision_error(error);
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
            assert_eq!(
                (e.kind, e.code),
                ("unprocessable", "plugin_decision_refused")
            );
            assert_eq!(e.message, message);
        }
    }
}
