//! `GET /v1/cards/report`: the finance report on the tenant's cards
//! (docs/card-lifecycle.md), per programme and unit: the liability
//! outstanding now and what flowed over a period of the tenant's days. The
//! figures are the ledger's (`ledger::report`); this file reads the dates
//! and shapes the answer.

use super::extract::{ApiQuery, AuthTenant};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use crate::ledger::{CardError, PeriodError, ProgramFigures, ReportPeriod};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The period's first day, `YYYY-MM-DD`, in the tenant's time zone.
    #[param(required = true, format = Date, example = "2031-06-01")]
    from: Option<String>,
    /// The period's last day, included: at most 366 days from `from`.
    #[param(required = true, format = Date, example = "2031-06-30")]
    to: Option<String>,
}

/// The finance report on the tenant's cards.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardReport {
    #[schema(format = Date, example = "2031-06-01")]
    pub from: String,
    /// Included.
    #[schema(format = Date, example = "2031-06-30")]
    pub to: String,
    /// Where the days start and end: the tenant's `timezone`.
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    /// One entry per programme and unit with cards or postings, by programme.
    pub programs: Vec<ProgramReport>,
}

/// One programme's figures in one unit. Amounts are integers: minor units
/// of a currency, or a punch card's uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramReport {
    #[schema(example = "gift")]
    pub program: String,
    /// The ISO 4217 code of the figures, or `<service>@<programme>` for a
    /// punch card's uses.
    #[schema(example = "CNY")]
    pub unit: String,
    pub outstanding: Liability,
    pub period: PeriodFigures,
}

/// What the programme's cards hold now: value the tenant owes its
/// holders. Not bounded by the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liability {
    /// Spendable.
    pub available: i64,
    /// Held for payments not yet final.
    pub held: i64,
    /// Past its validity, kept for the holder to reactivate.
    pub dormant: i64,
    /// `available + held + dormant`.
    pub total: i64,
}

/// What flowed over the period, from the ledger's postings made in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodFigures {
    /// Value sold: issued or topped up for a payment, less what refunded
    /// top-ups took back.
    pub sales: i64,
    /// Value given: promotional cards and top-up bonuses, less bonuses
    /// taken back with refunded top-ups.
    pub promotion: i64,
    /// Value spent on purchases, net of refunds.
    pub redemption: i64,
    /// Of purchases, what refunds gave back to the cards (already taken
    /// off `redemption`).
    pub refunded: i64,
    /// Value whose validity ended, moved to dormant.
    pub expired: i64,
    /// Dormant value made available again.
    pub reactivated: i64,
    /// Dormant value forfeited, where the programme allows breakage.
    pub breakage: i64,
}

impl From<ProgramFigures> for ProgramReport {
    fn from(f: ProgramFigures) -> Self {
        let o = f.outstanding;
        let p = f.flows;
        ProgramReport {
            program: o.program_id,
            unit: o.unit,
            outstanding: Liability {
                available: o.available,
                held: o.held,
                dormant: o.dormant,
                total: o.available + o.held + o.dormant,
            },
            period: PeriodFigures {
                sales: p.sales,
                promotion: p.promotion,
                redemption: p.redemption,
                refunded: p.refunded,
                expired: p.expired,
                reactivated: p.reactivated,
                breakage: p.breakage,
            },
        }
    }
}

impl From<PeriodError> for ApiError {
    fn from(e: PeriodError) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "parameter_invalid",
            e.to_string(),
        )
        .with_field(e.field)
    }
}

/// Report on the tenant's cards over a period.
///
/// Per programme and unit: the liability outstanding now, and what was
/// sold, given, redeemed (net of refunds), expired, reactivated and
/// forfeited to breakage over the days `from` to `to` (both included) in
/// the tenant's time zone, summed from the ledger's postings.
#[utoipa::path(get, path = "/v1/cards/report", tag = "cards", operation_id = "card_report",
    params(ReportQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The report", body = CardReport),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 422, description = "`from` or `to` missing, not a `YYYY-MM-DD` date, `to` before `from` or more than 366 days after it (the field is named)", body = ErrorBody),
    )
)]
async fn report(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<CardReport>, ApiError> {
    let timezone = &t.config.timezone;
    let period = ReportPeriod::parse(q.from.as_deref(), q.to.as_deref(), timezone)?;
    let figures = s
        .ledger
        .report(&t.config.id, &period)
        .await
        .map_err(CardError::Store)?;
    Ok(Json(CardReport {
        from: period.from.to_string(),
        to: period.to.to_string(),
        timezone: timezone.iana_name().unwrap_or("UTC").to_string(),
        programs: figures.into_iter().map(ProgramReport::from).collect(),
    }))
}
