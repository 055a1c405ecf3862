//! `/v1/coupons`: the tenant's coupons, cards of its `kind = "coupon"`
//! programmes that hold the most they can take off (docs/coupons.md).
//! These endpoints issue a coupon and read one by its code; it pays its
//! discount through `POST /v1/payments` like any card (a payment code from
//! `POST /v1/cards/{code}/payment-codes`, or the code itself as
//! `payer.buyer_id` in the member's session).

use super::cards::{rfc3339, unprocessable};
use super::extract::{ApiJson, ApiPath, AuthTenant};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use crate::config::{CouponTerms, Discount};
use crate::domain::CardProgramId;
use crate::ledger::{CardError, IssueCoupon, Program};
use crate::store::CardRecord;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use paycore_core::ledger::{CardId, CardStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue))
        .routes(routes!(read))
}

/// A coupon: what it can still take off and on what terms.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponView {
    /// Its code, which is its id: pay with it as `payer.buyer_id` (jsapi,
    /// with the holder as `payer.open_id`), or ask
    /// `POST /v1/cards/{code}/payment-codes` for a code to scan.
    #[schema(example = "cpn_5c1d0e6f7a8b9c0d1e2f3a4b")]
    pub code: String,
    pub program: String,
    pub holder: Option<String>,
    /// `active`; `closed` once used (a full refund of the payment that
    /// used it reopens it); `frozen`, `dormant`.
    pub status: CardStatus,
    /// The ISO 4217 code of its discount.
    pub currency: String,
    /// What it can take off now, in minor units: the most it takes off
    /// until it is used, then 0.
    pub value: i64,
    /// Held for a payment not yet final.
    pub held: i64,
    /// Its programme's terms as the tenant's config has them now; null if
    /// the programme was removed.
    pub terms: Option<CouponTermsView>,
    /// When it can no longer be used; null: never.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// What a coupon takes off, and where and when. Amounts in minor units.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponTermsView {
    /// A fixed amount off; or
    pub amount_off: Option<i64>,
    /// a percentage of the order, as a decimal string (`"12.5"`),
    #[schema(example = "12.5")]
    pub percent_off: Option<String>,
    /// taking off at most this.
    pub max_discount: Option<i64>,
    /// The least the order (the payment's goods) must come to.
    pub min_spend: Option<i64>,
    /// The weekdays it may be used on (`mon` … `sun`), in the tenant's
    /// time zone; null: every day.
    pub days: Option<Vec<String>>,
    /// The hours it may be used in (`"11:00-14:00"`), in the tenant's time
    /// zone; null: all day.
    pub hours: Option<String>,
    /// The store ids (a payment's `store_id`) where it may be used; empty:
    /// every store.
    pub stores: Vec<String>,
    pub one_per_order: bool,
}

fn terms_view(terms: &CouponTerms) -> CouponTermsView {
    let (amount_off, percent_off, max_discount) = match &terms.discount {
        Discount::AmountOff(amount) => (Some(*amount), None, None),
        Discount::PercentOff {
            percent,
            max_discount,
        } => (
            None,
            Some(percent.normalize().to_string()),
            Some(*max_discount),
        ),
    };
    let window = terms.window.as_ref();
    CouponTermsView {
        amount_off,
        percent_off,
        max_discount,
        min_spend: terms.min_spend,
        days: window
            .and_then(|w| w.day_names())
            .map(|days| days.into_iter().map(str::to_owned).collect()),
        hours: window.and_then(|w| w.hours_text()),
        stores: terms.stores.clone(),
        one_per_order: terms.one_per_order,
    }
}

fn view(coupon: &CardRecord, program: Option<&Program>) -> CouponView {
    CouponView {
        code: coupon.id.to_string(),
        program: coupon.program_id.clone(),
        holder: coupon.holder.clone(),
        status: coupon.status,
        currency: coupon.unit.clone(),
        value: coupon.balance,
        held: coupon.held,
        terms: program.and_then(|p| p.coupon.as_ref()).map(terms_view),
        expires_at: coupon.expires_ms.map(rfc3339),
        created_at: coupon.created_at.clone(),
    }
}

/// A coupon to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCouponBody {
    /// One of the tenant's `[[card_programs]]` of `kind = "coupon"`.
    #[schema(example = "welcome5")]
    pub program: String,
    /// The member it is given to (1-64 characters): they may pay with it
    /// in their own session. Without one it pays by payment code only.
    pub holder: Option<String>,
}

/// Issue a coupon of one of the tenant's coupon programmes.
///
/// The coupon holds the most it can take off — the programme's
/// `amount_off`, or for a percentage its `max_discount` — given by the
/// tenant's promotion, and expires after the programme's `validity_days`.
/// With an `Idempotency-Key`, the same request again answers with the
/// coupon the first one issued (200).
#[utoipa::path(post, path = "/v1/coupons", tag = "cards", operation_id = "issue_coupon",
    request_body(content = IssueCouponBody, description = "The coupon", example = json!({
        "program": "welcome5", "holder": "member-1"
    })),
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional key making retries safe")),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Issued", body = CouponView),
        (status = 200, description = "Issued by an earlier identical request", body = CouponView),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 409, description = "The Idempotency-Key was used with another request", body = ErrorBody),
        (status = 422, description = "No such programme, a programme that is not a coupon programme, or a bad holder", body = ErrorBody),
    )
)]
async fn issue(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    headers: HeaderMap,
    ApiJson(body): ApiJson<IssueCouponBody>,
) -> Result<Response, ApiError> {
    let key = super::payments::idempotency_key(&headers)?;
    if body
        .holder
        .as_deref()
        .is_some_and(|h| h.is_empty() || h.chars().count() > 64)
    {
        return Err(unprocessable("holder", "must be 1-64 characters"));
    }
    let request = IssueCoupon {
        fingerprint: format!("coupon|{}|{:?}", body.program, body.holder),
        program: CardProgramId::from(body.program.as_str()),
        holder: body.holder,
        idempotency_key: key,
    };
    let (coupon, created) = s.ledger.issue_coupon(&t.config, request).await?;
    let program = t
        .config
        .card_programs
        .iter()
        .find(|p| p.id == coupon.program_id.as_str());
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(&coupon, program))).into_response())
}

/// Read a coupon by its code: its status, what it can still take off, and
/// its terms.
#[utoipa::path(get, path = "/v1/coupons/{code}", tag = "cards", operation_id = "get_coupon",
    params(("code" = String, Path, description = "The coupon's code (its id)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The coupon", body = CouponView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such coupon for this tenant", body = ErrorBody),
    )
)]
async fn read(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<CouponView>, ApiError> {
    let (coupon, program) = s
        .ledger
        .coupon(&t.config, &CardId::from(code.as_str()))
        .await
        .map_err(|e| match e {
            CardError::NotFound => ApiError::not_found("no such coupon"),
            other => ApiError::from(other),
        })?;
    Ok(Json(view(&coupon, program.as_ref())))
}
