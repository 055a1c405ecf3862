//! The hosted cashier's pages (docs/checkout.md): `/pay/{token}` for one
//! checkout payment, `/q/{token}` for a static code, their stylesheet and
//! script. HTML for payers, not part of the JSON API, so not in the OpenAPI
//! document. Every page is served with a strict Content-Security-Policy;
//! an unknown or tampered token gets the same 404 page.

use super::AppState;
use crate::checkout::page::{self, AggregateView, CheckoutView, Tenders};
use crate::checkout::{self, Locale, agent};
use crate::payments::checkout_tenders::{Applied, MAX_APPLIED, Paying};
use crate::payments::qr_codes::{StaticCodeError, new_form_nonce};
use crate::payments::view::PaymentView;
use crate::payments::{CheckoutPage, PayerContext, PaymentError};
use crate::registry::Tenant;
use crate::store::QrCodeRecord;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pay/{token}", get(show).post(choose))
        .route("/pay/{token}/status", get(status))
        .route("/q/{token}", get(show_code).post(pay_code))
        .route("/checkout/assets/checkout.css", get(stylesheet))
        .route("/checkout/assets/checkout.js", get(script))
        .layer(axum::middleware::map_response(secure))
}

/// Headers every page and asset carries.
async fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(checkout::CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A page's link token from the path. One that cannot even be decoded
/// (not UTF-8) is a token paycore never made: the same 404 page as any
/// other unknown token, not axum's plain-text rejection.
struct PageToken(String);

impl<S: Send + Sync> FromRequestParts<S> for PageToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(token)) => Ok(PageToken(token)),
            Err(_) => Err(not_found(locale(&parts.headers))),
        }
    }
}

fn locale(headers: &HeaderMap) -> Locale {
    Locale::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn payer_context(headers: &HeaderMap) -> PayerContext {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    PayerContext {
        in_app_wallet: agent::wallet_from_user_agent(ua).map(str::to_string),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn not_found(locale: Locale) -> Response {
    html(StatusCode::NOT_FOUND, page::not_found(locale))
}

/// A failure of paycore itself (the database): logged, never detailed.
fn unavailable(e: &PaymentError, locale: Locale) -> Response {
    tracing::error!(error = %e, "hosted page failed");
    let t = locale.text();
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "<!doctype html><title>{0}</title><p>{0}</p>",
            page::esc(t.try_again)
        ),
    )
}

/// What a page's token found, or the page to answer instead: the same 404
/// for every unknown token, a 503 for paycore's own failure.
fn found<T>(looked_up: Result<Option<T>, PaymentError>, locale: Locale) -> Result<T, Response> {
    match looked_up {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(not_found(locale)),
        Err(e) => Err(unavailable(&e, locale)),
    }
}

/// The form fields of a page's POST (a few more than the most a page
/// sends: what is applied, the code typed, the button).
fn form(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .take(MAX_APPLIED + 8)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn show(
    State(s): State<AppState>,
    PageToken(token): PageToken,
    headers: HeaderMap,
) -> Response {
    let locale = locale(&headers);
    match found(s.payments.checkout_page(&token).await, locale) {
        Ok(p) => render(&s, &p, &headers, locale, Shown::default()).await,
        Err(miss) => miss,
    }
}

/// What a page shows besides its payment.
#[derive(Default)]
struct Shown {
    status: Option<StatusCode>,
    notice: Option<String>,
    /// The coupons and cards the payer applied (its forms carry them).
    applied: Vec<Applied>,
}

async fn render(
    s: &AppState,
    p: &CheckoutPage,
    headers: &HeaderMap,
    locale: Locale,
    shown: Shown,
) -> Response {
    let context = payer_context(headers);
    let awaiting = p.payment.awaiting_wallet();
    let draft = match awaiting && s.payments.checkout_takes_tenders(p) {
        true => match s.payments.checkout_draft(p, &shown.applied).await {
            Ok(draft) => Some(draft),
            Err(e) => return unavailable(&e, locale),
        },
        false => None,
    };
    let order = match p.payment.is_combined() {
        true => match s
            .payments
            .with_tenders(&p.tenant, PaymentView::from(&p.payment))
            .await
        {
            Ok(view) => view.tenders.unwrap_or_default(),
            Err(e) => return unavailable(&e, locale),
        },
        false => Vec::new(),
    };
    // Wallets are offered for what coupons and cards leave.
    let mut rest = p.request.clone();
    if let Some(d) = &draft {
        rest.amount = d.remaining;
    }
    let offers = match awaiting && rest.amount > 0 {
        true => s.payments.wallet_offers(&p.tenant, &rest, Some(&context)),
        false => Vec::new(),
    };
    let t = locale.text();
    let refused = draft.iter().flat_map(|d| &d.refused);
    let notices: Vec<String> = shown
        .notice
        .into_iter()
        .chain(refused.map(|why| t.not_applied.replace("{reason}", why)))
        .collect();
    let status = shown.status.unwrap_or(if notices.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    });
    let view = CheckoutView {
        locale,
        merchant: &p.tenant.config.checkout.display_name,
        amount: p.payment.amount,
        currency: &p.payment.currency,
        subject: p.request.subject.as_deref(),
        goods: &p.request.goods,
        order_no: &p.payment.merchant_order_no,
        token: &p.link.token,
        return_url: p.link.return_url.as_deref(),
        state: checkout::page_state(p, &offers),
        notice: (!notices.is_empty()).then(|| notices.join(" ")),
        tenders: match (&draft, order.is_empty()) {
            (Some(d), _) => Tenders::Draft(d),
            (None, false) => Tenders::Order(&order),
            (None, true) => Tenders::None,
        },
    };
    html(status, page::checkout(&view))
}

/// A post of the page: apply, use or remove a coupon or card (the page
/// again, nothing written), or pay — with a wallet for what is left, or
/// with coupons and cards alone — then show the payment (POST, then
/// redirect, then GET: a reload never sends again).
async fn choose(
    State(s): State<AppState>,
    PageToken(token): PageToken,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let locale = locale(&headers);
    let p = match found(s.payments.checkout_page(&token).await, locale) {
        Ok(p) => p,
        Err(miss) => return miss,
    };
    if let Err(refused) = s
        .fairness
        .admit_payer_action(&p.tenant.config.id, &p.tenant.config.limits)
    {
        return refused;
    }
    let fields = form(&body);
    let mut applied: Vec<Applied> = Vec::new();
    for value in fields.iter().filter(|(k, _)| k == "t").map(|(_, v)| v) {
        if let Some(a) = Applied::from_field(value)
            && !applied.contains(&a)
            && applied.len() < MAX_APPLIED
        {
            applied.push(a);
        }
    }
    let mut shown = Shown::default();
    if let Some(offer) = field(&fields, "use").and_then(Applied::from_field) {
        applied.push(offer);
    } else if field(&fields, "apply").is_some() {
        match s
            .payments
            .typed_tender(&p, field(&fields, "code").unwrap_or(""))
            .await
        {
            Ok(Some(typed)) => applied.push(typed),
            Ok(None) => {
                shown.status = Some(StatusCode::UNPROCESSABLE_ENTITY);
                shown.notice = Some(locale.text().enter_code.to_string());
            }
            Err(e) => return unavailable(&e, locale),
        }
    } else if let Some(removed) = field(&fields, "remove") {
        applied.retain(|a| a.to_field() != removed);
    } else {
        let pays = Paying {
            wallet: field(&fields, "wallet"),
            shown_rest: field(&fields, "rest").and_then(|r| r.parse().ok()),
        };
        return pay(&s, &p, &headers, locale, applied, pays).await;
    }
    shown.applied = applied;
    render(&s, &p, &headers, locale, shown).await
}

/// The payer pays what the page shows.
async fn pay(
    s: &AppState,
    p: &CheckoutPage,
    headers: &HeaderMap,
    locale: Locale,
    applied: Vec<Applied>,
    pays: Paying<'_>,
) -> Response {
    match s
        .payments
        .pay_checkout(p, &applied, pays, &payer_context(headers))
        .await
    {
        Ok(_) => see_other(&format!("/pay/{}", p.link.token)),
        Err(e @ PaymentError::Store(_)) => unavailable(&e, locale),
        Err(e) => {
            let status = match e {
                PaymentError::Conflict { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            // Show the payment as it now stands, with why paying failed
            // and what is still applied.
            match found(s.payments.checkout_page(&p.link.token).await, locale) {
                Ok(now) => {
                    let shown = Shown {
                        status: Some(status),
                        notice: Some(e.to_string()),
                        applied,
                    };
                    render(s, &now, headers, locale, shown).await
                }
                Err(miss) => miss,
            }
        }
    }
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// What the page's script polls: the state it shows, and the status.
async fn status(
    State(s): State<AppState>,
    PageToken(token): PageToken,
    headers: HeaderMap,
) -> Response {
    match s.payments.checkout_page(&token).await {
        Ok(Some(p)) => {
            let offers = Vec::new();
            let state = checkout::page_state(&p, &offers);
            axum::Json(json!({
                "state": page::state_key(&state),
                "status": p.payment.status,
            }))
            .into_response()
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": { "type": "not_found", "code": "not_found", "message": "no such payment link" } })),
        )
            .into_response(),
        Err(e) => unavailable(&e, locale(&headers)),
    }
}

async fn show_code(
    State(s): State<AppState>,
    PageToken(token): PageToken,
    headers: HeaderMap,
) -> Response {
    let locale = locale(&headers);
    match found(s.payments.static_code(&token).await, locale) {
        Ok((tenant, code)) => {
            render_code(&s, &tenant, &code, &headers, &new_form_nonce(), None, None)
        }
        Err(miss) => miss,
    }
}

/// Wallets that need no app: a plain browser can pay with them.
const BROWSER_WALLETS: [&str; 1] = ["sandbox"];

fn render_code(
    s: &AppState,
    tenant: &Tenant,
    code: &QrCodeRecord,
    headers: &HeaderMap,
    nonce: &str,
    typed: Option<&str>,
    notice: Option<(StatusCode, String)>,
) -> Response {
    let locale = locale(headers);
    let context = payer_context(headers);
    let offered = s.payments.static_code_wallets(tenant, code, &context);
    let in_app = context
        .in_app_wallet
        .as_deref()
        .filter(|w| offered.iter().any(|o| o == w));
    let (browser, apps): (Vec<String>, Vec<String>) = offered
        .into_iter()
        .partition(|w| BROWSER_WALLETS.contains(&w.as_str()));
    let (status, notice) = match notice {
        Some((status, text)) => (status, Some(text)),
        None => (StatusCode::OK, None),
    };
    let view = AggregateView {
        locale,
        merchant: &tenant.config.checkout.display_name,
        store_id: &code.store_id,
        subject: code.subject.as_deref(),
        currency: &code.currency,
        amount: code.amount,
        token: &code.token,
        nonce,
        in_app,
        browser_wallets: &browser,
        app_wallets: &apps,
        typed,
        notice,
    };
    html(status, page::aggregate(&view))
}

/// The payer submitted a static code's form: make and send the payment,
/// then show its checkout page.
async fn pay_code(
    State(s): State<AppState>,
    PageToken(token): PageToken,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let locale = locale(&headers);
    let (tenant, code) = match found(s.payments.static_code(&token).await, locale) {
        Ok(found) => found,
        Err(miss) => return miss,
    };
    if let Err(refused) = s
        .fairness
        .admit_payer_action(&tenant.config.id, &tenant.config.limits)
    {
        return refused;
    }
    let fields = form(&body);
    let typed = field(&fields, "amount");
    let nonce = field(&fields, "nonce").unwrap_or("");
    let wallet = field(&fields, "wallet").unwrap_or("");
    let result = s
        .payments
        .pay_static_code(
            &tenant,
            &code,
            typed,
            nonce,
            wallet,
            &payer_context(&headers),
        )
        .await;
    let refuse = |nonce: &str, status: StatusCode, text: String| {
        render_code(
            &s,
            &tenant,
            &code,
            &headers,
            nonce,
            typed,
            Some((status, text)),
        )
    };
    match result {
        Ok(page_token) => see_other(&format!("/pay/{page_token}")),
        // Nothing was made: the same form may be corrected and sent again.
        Err(StaticCodeError::Amount(e)) => refuse(
            nonce,
            StatusCode::UNPROCESSABLE_ENTITY,
            locale.amount_error(&e, &code.currency),
        ),
        Err(StaticCodeError::FormUsed) => refuse(
            &new_form_nonce(),
            StatusCode::CONFLICT,
            locale.text().form_used.to_string(),
        ),
        Err(StaticCodeError::NotFound) => not_found(locale),
        Err(StaticCodeError::Payment(e @ PaymentError::Store(_))) => unavailable(&e, locale),
        Err(StaticCodeError::Payment(e)) => refuse(
            &new_form_nonce(),
            StatusCode::UNPROCESSABLE_ENTITY,
            e.to_string(),
        ),
    }
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", checkout::STYLESHEET)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", checkout::SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
