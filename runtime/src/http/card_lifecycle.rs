//! `POST /v1/cards/{id}/reactivate`: a dormant card's kept value back in
//! use (docs/card-lifecycle.md). The sweeper makes a card dormant when its
//! validity ends; this undoes it, as China's rules on prepaid value
//! require. The work is the ledger's (`ledger::reactivation`).

use super::cards::{CardView, view};
use super::extract::{ApiPath, AuthTenant};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use paycore_core::ledger::CardId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reactivate))
}

/// Reactivate a dormant card.
///
/// Its dormant value becomes available again, the card `active`, and its
/// validity starts anew: `expires_at` is now plus its programme's
/// `validity_days` (null if the programme sets none). One transaction.
/// With an `Idempotency-Key`, the same request again answers with the card
/// and moves nothing.
#[utoipa::path(post, path = "/v1/cards/{id}/reactivate", tag = "cards", operation_id = "reactivate_card",
    params(
        ("id" = String, Path, description = "The card's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional key making retries safe"),
    ),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The card, active with its value", body = CardView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such card for this tenant", body = ErrorBody),
        (status = 409, description = "The card is not dormant (`card_not_dormant`); only value held for an open payment is left on it (`nothing_to_reactivate`); its programme is no longer configured (`card_program_unknown`); it kept changing (`card_busy`, retry)", body = ErrorBody),
    )
)]
async fn reactivate(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<CardView>, ApiError> {
    let key = super::payments::idempotency_key(&headers)?;
    let card = s
        .ledger
        .reactivate(&t.config, &CardId::from(id.as_str()), key)
        .await?;
    Ok(Json(view(&card)))
}
