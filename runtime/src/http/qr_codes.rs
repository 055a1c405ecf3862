//! `/v1/qr-codes`: a tenant's static codes for stores and terminals
//! ("one code for every wallet", docs/checkout.md).

use super::extract::{ApiJson, ApiPath, ApiQuery, AuthTenant};
use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use crate::payments::qr_codes::QrCodeBody;
use crate::store::QrCodeRecord;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(read))
        .routes(routes!(disable))
        .routes(routes!(image))
}

/// A static code. Print `image_url`'s SVG (or encode `url` yourself).
#[derive(Debug, Serialize, ToSchema)]
pub struct QrCodeView {
    #[schema(example = "qr_5c1d0e6f7a8b9c0d1e2f3a4b")]
    pub id: String,
    pub store_id: String,
    pub terminal_id: Option<String>,
    /// Fixed amount in minor units; null when the payer types it.
    pub amount: Option<i64>,
    pub currency: String,
    pub subject: Option<String>,
    /// What the code encodes: paycore's page for this code.
    pub url: String,
    /// The code drawn as SVG (same API key).
    pub image_url: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When the code was retired; its page is then a 404.
    #[schema(format = DateTime)]
    pub disabled_at: Option<String>,
}

/// A page of codes.
#[derive(Debug, Serialize, ToSchema)]
pub struct QrCodeList {
    pub data: Vec<QrCodeView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this store's codes.
    store_id: Option<String>,
    /// At most this many, newest first (1-100, default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

fn view(s: &AppState, code: &QrCodeRecord) -> QrCodeView {
    let base = s.payments.public_url();
    QrCodeView {
        id: code.id.clone(),
        store_id: code.store_id.clone(),
        terminal_id: code.terminal_id.clone(),
        amount: code.amount,
        currency: code.currency.to_string(),
        subject: code.subject.clone(),
        url: format!("{base}/q/{}", code.token),
        image_url: format!("{base}/v1/qr-codes/{}/image.svg", code.id),
        created_at: code.created_at.clone(),
        disabled_at: code.disabled_at.clone(),
    }
}

/// Create a static code for a store or terminal.
///
/// Scanned by WeChat, Alipay or UnionPay, the code opens paycore's page,
/// which takes the amount (fixed here, or typed by the payer) and makes a
/// `checkout` payment through the tenant's routing.
#[utoipa::path(post, path = "/v1/qr-codes", tag = "checkout", operation_id = "create_qr_code",
    request_body(content = QrCodeBody, description = "The code", example = json!({
        "store_id": "shop-7", "terminal_id": "counter-1", "currency": "CNY", "subject": "Demo Coffee"
    })),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = QrCodeView),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 422, description = "A field is missing or unacceptable", body = ErrorBody),
        (status = 429, description = "The tenant's request limit was reached", body = ErrorBody),
    )
)]
async fn create(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiJson(body): ApiJson<QrCodeBody>,
) -> Result<Response, ApiError> {
    let body = body
        .validate()
        .map_err(crate::payments::PaymentError::from)?;
    let code = s.payments.create_qr_code(&t, body).await?;
    Ok((StatusCode::CREATED, Json(view(&s, &code))).into_response())
}

/// List the tenant's static codes, newest first.
#[utoipa::path(get, path = "/v1/qr-codes", tag = "checkout", operation_id = "list_qr_codes",
    params(ListQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The codes", body = QrCodeList),
        (status = 400, description = "A query parameter of the wrong type", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 422, description = "`limit` out of range", body = ErrorBody),
    )
)]
async fn list(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<QrCodeList>, ApiError> {
    // Read by hand so that junk is a JSON 422 naming the field, like
    // every other error (axum's own rejection would be plain text).
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(text) => text.parse::<i64>().unwrap_or(0),
    };
    if !(1..=100).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            "invalid_field",
            "must be between 1 and 100",
        )
        .with_field("limit"));
    }
    let codes = s
        .payments
        .qr_codes(&t, q.store_id.as_deref(), limit)
        .await?;
    Ok(Json(QrCodeList {
        data: codes.iter().map(|c| view(&s, c)).collect(),
    }))
}

/// Retire a static code (a lost or replaced sticker): its page becomes a
/// 404 and it makes no more payments. Idempotent.
#[utoipa::path(post, path = "/v1/qr-codes/{id}/disable", tag = "checkout", operation_id = "disable_qr_code",
    params(("id" = String, Path, description = "The code's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The code, disabled", body = QrCodeView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such code for this tenant", body = ErrorBody),
    )
)]
async fn disable(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<QrCodeView>, ApiError> {
    let code = s.payments.disable_qr_code(&t, &id).await?;
    Ok(Json(view(&s, &code)))
}

/// Read a static code.
#[utoipa::path(get, path = "/v1/qr-codes/{id}", tag = "checkout", operation_id = "get_qr_code",
    params(("id" = String, Path, description = "The code's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The code", body = QrCodeView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such code for this tenant", body = ErrorBody),
    )
)]
async fn read(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<QrCodeView>, ApiError> {
    let code = s.payments.qr_code(&t, &id).await?;
    Ok(Json(view(&s, &code)))
}

/// The code drawn as an SVG image, to print.
#[utoipa::path(get, path = "/v1/qr-codes/{id}/image.svg", tag = "checkout", operation_id = "get_qr_code_image",
    params(("id" = String, Path, description = "The code's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "SVG", content_type = "image/svg+xml", body = String),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such code for this tenant", body = ErrorBody),
    )
)]
async fn image(
    State(s): State<AppState>,
    AuthTenant(t): AuthTenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let code = s.payments.qr_code(&t, &id).await?;
    let url = view(&s, &code).url;
    let svg = crate::checkout::qr::svg(&url, &code.store_id)
        .map(|inline| format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{inline}"))
        .ok_or_else(|| ApiError::not_found("no such code"))?;
    let mut response = svg.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    Ok(response)
}
