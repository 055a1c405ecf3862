//! `/v1/cards`: the tenant's member, gift, voucher and punch cards on the
//! ledger paycore keeps; coupons are cards too, issued and read by
//! `/v1/coupons` (docs/coupons.md), paid with through their payment codes
//! here. Paying with a card goes through
//! `POST /v1/payments` like any wallet; these endpoints issue cards, read
//! them and their postings, give members payment codes, and freeze them.

use super::extract::{ApiJson, ApiPath, ApiQuery, AuthTenant};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use crate::domain::{CardProgramId, PaymentId};
use crate::ledger::{CardError, FundedBy, IssueCard};
use crate::store::{CardRecord, PostingRecord};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use paycore_core::ledger::{CardId, CardStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue, list))
        .routes(routes!(read))
        .routes(routes!(transactions))
        .routes(routes!(payment_code))
        .routes(routes!(top_up))
        .routes(routes!(freeze))
        .routes(routes!(unfreeze))
}

/// A card and its balances, in its unit: minor units of `currency`, or a
/// punch card's uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardView {
    #[schema(example = "card_5c1d0e6f7a8b9c0d1e2f3a4b")]
    pub id: String,
    pub program: String,
    /// `stored_value`, `gift`, `voucher`, `punch` or `coupon` (see
    /// `/v1/coupons`).
    pub kind: String,
    /// The ISO 4217 code of its value, or `<service>@<programme>` for a
    /// punch card's uses.
    pub unit: String,
    pub holder: Option<String>,
    /// `active`, `frozen`, `dormant` (its validity ended; the value is kept
    /// and can be reactivated) or `closed`.
    pub status: CardStatus,
    /// What can be spent now.
    pub balance: i64,
    /// Held for payments not yet final.
    pub held: i64,
    /// Kept after its validity ended, reactivatable.
    pub dormant: i64,
    /// When its value stops being usable; null: never.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

pub(super) fn view(card: &CardRecord) -> CardView {
    CardView {
        id: card.id.to_string(),
        program: card.program_id.clone(),
        kind: card.kind.clone(),
        unit: card.unit.clone(),
        holder: card.holder.clone(),
        status: card.status,
        balance: card.balance,
        held: card.held,
        dormant: card.dormant,
        expires_at: card.expires_ms.map(rfc3339),
        created_at: card.created_at.clone(),
    }
}

pub(super) fn rfc3339(ms: i64) -> String {
    crate::clock::millis_rfc3339(ms)
}

/// How a card's first value is paid for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FundingBody {
    /// `promotion` (the tenant gives it) or `payment` (a succeeded payment
    /// of exactly the card's value, or a punch card's price, bought it;
    /// one payment pays for one card).
    #[serde(rename = "type")]
    pub kind: String,
    pub payment_id: Option<String>,
}

/// A card to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    /// One of the tenant's `[[card_programs]]`.
    #[schema(example = "gift")]
    pub program: String,
    /// The member the card belongs to (required by named programmes).
    pub holder: Option<String>,
    /// Face value (gift, voucher) or opening balance (stored value), minor
    /// units; a punch card takes its programme's uses; a stored-value card
    /// is usually issued empty and topped up.
    pub amount: Option<i64>,
    pub funded_by: Option<FundingBody>,
}

impl IssueBody {
    fn into_request(self, key: Option<String>) -> Result<IssueCard, ApiError> {
        let funded_by = match self.funded_by {
            None => None,
            Some(f) => Some(match (f.kind.as_str(), f.payment_id) {
                ("promotion", None) => FundedBy::Promotion,
                ("payment", Some(id)) => FundedBy::Payment(PaymentId::from(id.as_str())),
                ("payment", None) => {
                    return Err(unprocessable(
                        "funded_by.payment_id",
                        "a card paid for by a payment names it",
                    ));
                }
                ("promotion", Some(_)) => {
                    return Err(unprocessable(
                        "funded_by.payment_id",
                        "promotional value names no payment",
                    ));
                }
                _ => {
                    return Err(unprocessable(
                        "funded_by.type",
                        "must be `promotion` or `payment`",
                    ));
                }
            }),
        };
        if self
            .holder
            .as_deref()
            .is_some_and(|h| h.is_empty() || h.len() > 64)
        {
            return Err(unprocessable("holder", "must be 1-64 characters"));
        }
        let fingerprint = format!(
            "{}|{:?}|{:?}|{:?}",
            self.program, self.holder, self.amount, funded_by
        );
        Ok(IssueCard {
            program: CardProgramId::from(self.program.as_str()),
            holder: self.holder,
            amount: self.amount,
            funded_by,
            idempotency_key: key,
            fingerprint,
        })
    }
}

pub(super) fn unprocessable(field: &str, message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
        "parameter_invalid",
        format!("`{field}` {message}"),
    )
    .with_field(field)
}

impl From<CardError> for ApiError {
    fn from(e: CardError) -> Self {
        let message = e.to_string();
        match e {
            CardError::UnknownProgram(_)
            | CardError::CouponProgram
            | CardError::NotCouponProgram(_) => unprocessable_with("program", message),
            CardError::NotFound => ApiError::not_found("no such card"),
            CardError::Amount(_) => unprocessable_with("amount", message),
            CardError::Currency(_) => unprocessable_with("currency", message),
            CardError::HolderRequired(_) => unprocessable_with("holder", message),
            CardError::Funding(_) => unprocessable_with("funded_by", message),
            CardError::KeyConflict => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "idempotency_key_reused",
                message,
            ),
            CardError::OrderNoConflict => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "idempotency_conflict",
                message,
            ),
            CardError::NotActive(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "card_not_active", message)
            }
            CardError::NotDormant(_) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "card_not_dormant",
                message,
            ),
            CardError::NothingDormant => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "nothing_to_reactivate",
                message,
            ),
            CardError::ProgramGone(_) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "card_program_unknown",
                message,
            ),
            CardError::Busy => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "card_busy", message)
            }
            CardError::Store(cause) => {
                tracing::error!(error = %cause, "storage failure");
                ApiError::internal()
            }
        }
    }
}

fn unprocessable_with(field: &str, message: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "card_refused",
        message,
    )
    .with_field(field)
}

/// Issue a card of one of the tenant's programmes.
///
/// A gift card, voucher or punch card is sold: `funded_by` names the
/// succeeded payment that bought it (one payment pays for one card), or
/// `promotion` when the tenant gives it away. A stored-value card is
/// issued empty and topped up. With an `Idempotency-Key`, the same request
/// again answers with the card the first one issued (200).
#[utoipa::path(post, path = "/v1/cards", tag = "cards", operation_id = "issue_card",
    request_body(content = IssueBody, description = "The card", example = json!({
        "program": "gift", "holder": "member-42", "amount": 10000,
        "funded_by": { "type": "payment", "payment_id": "pay_5c1d0e6f7a8b9c0d1e2f3a4b" }
    })),
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional key making retries safe")),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Issued", body = CardView),
        (status = 200, description = "Issued by an earlier identical request", body = CardView),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 409, description = "The Idempotency-Key was used with another request", body = ErrorBody),
        (status = 422, description = "Unknown programme, a value the programme does not issue, or funding that does not pay for it", body = ErrorBody),
    )
)]
async fn issue(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    headers: HeaderMap,
    ApiJson(body): ApiJson<IssueBody>,
) -> Result<Response, ApiError> {
    let key = super::payments::idempotency_key(&headers)?;
    let request = body.into_request(key)?;
    let (card, created) = s.ledger.issue_card(&t.config, request).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(&card))).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The member whose cards to list.
    holder: Option<String>,
}

/// A page of cards.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardList {
    pub data: Vec<CardView>,
}

/// List a member's cards, oldest first (at most 100).
#[utoipa::path(get, path = "/v1/cards", tag = "cards", operation_id = "list_cards",
    params(ListQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The cards", body = CardList),
        (status = 400, description = "`holder` is missing", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
    )
)]
async fn list(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<CardList>, ApiError> {
    let holder = q.holder.ok_or_else(|| {
        ApiError::malformed("parameter_missing", "`holder` is required").with_field("holder")
    })?;
    let cards = s.ledger.cards_of_holder(&t.config.id, &holder, 100).await?;
    Ok(Json(CardList {
        data: cards.iter().map(view).collect(),
    }))
}

/// Read a card and its balances.
#[utoipa::path(get, path = "/v1/cards/{id}", tag = "cards", operation_id = "get_card",
    params(("id" = String, Path, description = "The card's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The card", body = CardView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such card for this tenant", body = ErrorBody),
    )
)]
async fn read(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CardView>, ApiError> {
    let card = s
        .ledger
        .card(&t.config.id, &CardId::from(id.as_str()))
        .await?;
    Ok(Json(view(&card)))
}

/// One posting: `amount` of the card's unit from one account to another.
/// Accounts are the card's (`card:<id>` available, `card:<id>:held`,
/// `card:<id>:dormant`) or the tenant's (`sales`, `promotion`,
/// `redemption`, `breakage`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionView {
    /// Its position in the ledger; page with `after`.
    pub seq: i64,
    /// `issue`, `top_up`, `top_up_reversal`, `hold`, `capture`, `release`,
    /// `refund`, `expire`, `reactivate`, `forfeit`, or a coupon's `retire`
    /// (what its discount did not take, back to `promotion` when it is
    /// used) and `restore` (that back on a full refund).
    pub kind: String,
    pub from: String,
    pub to: String,
    pub amount: i64,
    pub unit: String,
    /// What it did to the available balance (negative: spent or held).
    pub balance_change: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionList {
    pub data: Vec<TransactionView>,
    /// More postings follow: ask again with `after` = the last `seq`.
    pub has_more: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransactionsQuery {
    /// Only postings after this `seq`.
    #[param(value_type = Option<i64>)]
    after: Option<String>,
    /// At most this many (1-100, default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

fn transaction(card: &CardId, posting: &PostingRecord) -> TransactionView {
    let available = format!("card:{card}");
    let balance_change = if posting.to_account == available {
        posting.amount
    } else if posting.from_account == available {
        -posting.amount
    } else {
        0
    };
    TransactionView {
        seq: posting.seq,
        kind: posting.kind.to_string(),
        from: posting.from_account.clone(),
        to: posting.to_account.clone(),
        amount: posting.amount,
        unit: posting.unit.clone(),
        balance_change,
        created_at: posting.created_at.clone(),
    }
}

/// A card's postings, oldest first.
#[utoipa::path(get, path = "/v1/cards/{id}/transactions", tag = "cards", operation_id = "list_card_transactions",
    params(("id" = String, Path, description = "The card's id"), TransactionsQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The postings", body = TransactionList),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such card for this tenant", body = ErrorBody),
        (status = 422, description = "`after` or `limit` out of range", body = ErrorBody),
    )
)]
async fn transactions(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TransactionsQuery>,
) -> Result<Json<TransactionList>, ApiError> {
    let after = match q.after.as_deref() {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| unprocessable("after", "must be a posting's seq"))?,
    };
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| unprocessable("limit", "must be between 1 and 100"))?,
    };
    let card = CardId::from(id.as_str());
    let mut postings = s
        .ledger
        .transactions(&t.config.id, &card, after, limit + 1)
        .await?;
    let has_more = postings.len() as i64 > limit;
    postings.truncate(limit as usize);
    Ok(Json(TransactionList {
        data: postings.iter().map(|p| transaction(&card, p)).collect(),
        has_more,
    }))
}

/// A member's dynamic payment code.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentCodeView {
    /// 18 digits starting `88`: show it as a barcode or QR code for the
    /// till to scan as `auth_code` (scene `barcode`; routing infers wallet
    /// `card`). It pays once, before `expires_at`.
    #[schema(example = "881234567890123456")]
    pub code: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// A fresh payment code for an active card: valid for a minute and for one
/// payment, so a screenshot cannot pay twice or later.
#[utoipa::path(post, path = "/v1/cards/{id}/payment-codes", tag = "cards", operation_id = "create_card_payment_code",
    params(("id" = String, Path, description = "The card's id")),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "A fresh code", body = PaymentCodeView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such card for this tenant", body = ErrorBody),
        (status = 409, description = "The card is not active (`card_not_active`)", body = ErrorBody),
    )
)]
async fn payment_code(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let code = s
        .ledger
        .payment_code(&t.config.id, &CardId::from(id.as_str()))
        .await?;
    let body = PaymentCodeView {
        code: code.code,
        expires_at: rfc3339(code.expires_ms),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Freeze a card (a lost phone, a dispute): no value leaves it until it is
/// unfrozen; refunds still reach it. Idempotent.
#[utoipa::path(post, path = "/v1/cards/{id}/freeze", tag = "cards", operation_id = "freeze_card",
    params(("id" = String, Path, description = "The card's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The card, frozen", body = CardView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such card for this tenant", body = ErrorBody),
        (status = 409, description = "The card is dormant or closed (`card_not_active`)", body = ErrorBody),
    )
)]
async fn freeze(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CardView>, ApiError> {
    let card = s
        .ledger
        .freeze(&t.config.id, &CardId::from(id.as_str()))
        .await?;
    Ok(Json(view(&card)))
}

/// Unfreeze a frozen card. Idempotent.
#[utoipa::path(post, path = "/v1/cards/{id}/unfreeze", tag = "cards", operation_id = "unfreeze_card",
    params(("id" = String, Path, description = "The card's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The card, active", body = CardView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such card for this tenant", body = ErrorBody),
        (status = 409, description = "The card is dormant or closed (`card_not_active`)", body = ErrorBody),
    )
)]
async fn unfreeze(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CardView>, ApiError> {
    let card = s
        .ledger
        .unfreeze(&t.config.id, &CardId::from(id.as_str()))
        .await?;
    Ok(Json(view(&card)))
}

/// A top-up: a payment buying value for a member card.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopUpView {
    pub card_id: String,
    pub merchant_order_no: String,
    /// What the payment buys, minor units.
    pub amount: i64,
    /// What the programme adds once the payment succeeds (its bonus tier
    /// when the top-up was asked for).
    pub bonus: i64,
    /// `pending` (until the payment is final), `credited`, `failed` (the
    /// payment did not succeed) or `refused` (the card's maximum balance
    /// could not take it: the payment is refunded in full).
    pub status: String,
    /// The payment, as `GET /v1/payments/{id}` shows it.
    pub payment: crate::payments::view::PaymentView,
}

/// Top up a member's stored-value card.
///
/// The body is a payment, exactly as `POST /v1/payments` takes it, through
/// any of the tenant's channels (a card's own value cannot top up a card).
/// The card is credited with the amount and the programme's bonus only
/// once that payment succeeds — at once for a barcode payment, later for a
/// QR or hosted one — and never twice. Idempotent on `merchant_order_no`
/// like any payment. A refund of the payment takes the value back off the
/// card (the bonus in proportion), or fails with `top_up_spent` when the
/// card no longer holds it.
#[utoipa::path(post, path = "/v1/cards/{id}/top-ups", tag = "cards", operation_id = "top_up_card",
    params(("id" = String, Path, description = "The card's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Optional key making retries safe")),
    request_body(content = crate::payments::request::PaymentBody, description = "The payment", example = json!({
        "merchant_order_no": "TOPUP-20261207-001", "amount": 50000, "currency": "CNY",
        "scene": "barcode", "auth_code": "134567890124", "wallet": "sandbox"
    })),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "The top-up and its payment (`payment.status` says whether it succeeded)", body = TopUpView),
        (status = 200, description = "A replay of an identical earlier top-up", body = TopUpView),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such card for this tenant", body = ErrorBody),
        (status = 409, description = "The order number was used for another top-up or payment, or the card is not active", body = ErrorBody),
        (status = 422, description = "Not a stored-value card, another currency, above the card's maximum balance, or a payment `POST /v1/payments` would refuse", body = ErrorBody),
        (status = 502, description = "As `POST /v1/payments`", body = ErrorBody),
        (status = 504, description = "As `POST /v1/payments`", body = ErrorBody),
    )
)]
async fn top_up(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<crate::payments::request::PaymentBody>,
) -> Result<Response, ApiError> {
    let key = super::payments::idempotency_key(&headers)?;
    let request = body
        .validate()
        .map_err(crate::payments::PaymentError::from)?;
    let pays_with_a_card = request.wallet.as_deref() == Some("card")
        || request
            .auth_code
            .as_deref()
            .is_some_and(crate::ledger::looks_like_card_code);
    if pays_with_a_card {
        return Err(unprocessable(
            "wallet",
            "a card is topped up by a payment, not by card value",
        ));
    }
    let card = CardId::from(id.as_str());
    s.ledger
        .start_top_up(
            &t.config,
            &card,
            request.amount,
            &request.currency,
            &request.merchant_order_no,
        )
        .await?;
    let order_no = request.merchant_order_no.clone();
    let created = s.payments.create(&t, request, key).await?;
    let top_up = s
        .ledger
        .store()
        .top_up(&t.config.id, &order_no)
        .await
        .map_err(crate::payments::PaymentError::from)?
        .ok_or_else(ApiError::internal)?;
    let status = if created.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let view = TopUpView {
        card_id: top_up.card_id.to_string(),
        merchant_order_no: top_up.merchant_order_no,
        amount: top_up.amount,
        bonus: top_up.bonus,
        status: top_up.status,
        payment: created.payment,
    };
    Ok((status, Json(view)).into_response())
}
