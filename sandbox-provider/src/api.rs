//! `POST /api/v1/{operation}`: authenticate, validate, apply, answer signed.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::Provider;
use crate::money::{self, Currency};
use crate::state::{Order, PayOutcome, PayRequest, Refund, RefundRequest, RefundStatus, Scene};
use crate::statement::{self, StatementBody};
use crate::wire::{
    self, ApiError, DoneBody, Fields, MERCHANT_HEADER, OrderBody, RefundBody, SIGNATURE_HEADER,
};

/// Longest `expires_in` accepted: 30 days.
const MAX_EXPIRES_IN_SECS: u64 = 30 * 24 * 3600;
const MAX_SUBJECT_CHARS: usize = 256;
const MAX_URL_LEN: usize = 2048;

pub(crate) async fn handle(
    State(p): State<Provider>,
    Path(op): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Authenticate before looking at anything else: an unauthenticated caller
    // learns nothing and changes nothing.
    let Some(merchant) = headers.get(MERCHANT_HEADER).and_then(|v| v.to_str().ok()) else {
        return wire::bad_signature("missing X-Sandbox-Merchant header");
    };
    let Some(key) = p.merchant_key(merchant) else {
        tracing::warn!(
            merchant,
            op,
            "sandbox provider: request from unknown merchant"
        );
        return wire::bad_signature("unknown merchant");
    };
    let Some(signature) = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()) else {
        tracing::warn!(merchant, op, "sandbox provider: unsigned request");
        return wire::bad_signature("missing X-Sandbox-Signature header");
    };
    if !wire::verify(key, &body, signature) {
        tracing::warn!(merchant, op, "sandbox provider: bad signature");
        return wire::bad_signature("signature does not match the body");
    }

    match dispatch(&p, merchant, &op, &body) {
        Ok((status, body)) => wire::signed(status, key, &body),
        Err(e) => {
            tracing::info!(merchant, op, code = e.code(), message = %e, "sandbox provider: request refused");
            wire::signed(e.status(), key, &e.body())
        }
    }
}

/// A successful answer (which may still carry a non-`SUCCESS` code such as
/// `DECLINED` or `REFUND_FAILED`, as the protocol says).
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Answer {
    Order(OrderBody),
    Refund(RefundBody),
    Statement(StatementBody),
    Done(DoneBody),
}

fn dispatch(
    p: &Provider,
    merchant: &str,
    op: &str,
    body: &[u8],
) -> Result<(StatusCode, Answer), ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("body is not valid JSON: {e}")))?;
    let f = Fields::parse(&value)?;
    let now = Instant::now();
    match op {
        "pay" => pay(p, merchant, &f, now),
        "query" => {
            let trade_no = f.opt_ident("trade_no")?;
            let out_trade_no = f.opt_ident("out_trade_no")?;
            let order = p.store().query(merchant, trade_no, out_trade_no, now)?;
            Ok((
                StatusCode::OK,
                Answer::Order(order_body(p, &order, "SUCCESS", None, false)),
            ))
        }
        "close" => {
            let out_trade_no = f.ident("out_trade_no")?;
            let order = p.store().close(merchant, out_trade_no, now)?;
            tracing::info!(
                merchant,
                out_trade_no,
                trade_no = order.trade_no,
                "sandbox provider: order closed"
            );
            Ok((
                StatusCode::OK,
                Answer::Order(order_body(p, &order, "SUCCESS", None, false)),
            ))
        }
        "cancel" => {
            let out_trade_no = f.ident("out_trade_no")?;
            let order = p.store().cancel(merchant, out_trade_no, now, p.now())?;
            tracing::info!(
                merchant,
                out_trade_no,
                trade_no = order.trade_no,
                refunded = order.currency.format(order.refunded),
                "sandbox provider: order cancelled"
            );
            Ok((
                StatusCode::OK,
                Answer::Order(order_body(p, &order, "SUCCESS", None, false)),
            ))
        }
        "refund" => {
            let req = RefundRequest {
                merchant,
                out_trade_no: f.ident("out_trade_no")?,
                out_refund_no: f.ident("out_refund_no")?,
                amount: f.str("amount")?,
                reason: f.opt_str("reason")?.unwrap_or(""),
            };
            // Shape first, so a malformed amount is a 400 whatever the order;
            // the exact precision is checked against the order's currency.
            money::check_syntax(req.amount)
                .map_err(|m| ApiError::invalid(format!("field `amount`: {m}")))?;
            let refund = p.store().refund(req, now, p.now())?;
            tracing::info!(
                merchant,
                out_refund_no = refund.out_refund_no,
                refund_no = refund.refund_no,
                status = refund.status.as_str(),
                "sandbox provider: refund"
            );
            Ok((StatusCode::OK, Answer::Refund(refund_body(&refund))))
        }
        "refund_query" => {
            let out_refund_no = f.ident("out_refund_no")?;
            let refund = p.store().refund_query(merchant, out_refund_no)?;
            Ok((StatusCode::OK, Answer::Refund(refund_body(&refund))))
        }
        "statement" => Ok((
            StatusCode::OK,
            Answer::Statement(statement::statement(p, merchant, &f, now)?),
        )),
        "statement_adjust" => Ok((
            StatusCode::OK,
            Answer::Done(statement::adjust(p, merchant, &f, now)?),
        )),
        _ => Err(ApiError::invalid(format!(
            "unknown operation \"{op}\" (expected pay, query, refund, refund_query, close, cancel, statement or statement_adjust)"
        ))),
    }
}

fn pay(
    p: &Provider,
    merchant: &str,
    f: &Fields<'_>,
    now: Instant,
) -> Result<(StatusCode, Answer), ApiError> {
    let out_trade_no = f.ident("out_trade_no")?;
    let code = f.str("currency")?;
    let currency = Currency::lookup(code).ok_or_else(|| {
        ApiError::invalid(format!("field `currency`: unsupported currency \"{code}\""))
    })?;
    let amount = currency
        .parse(f.str("amount")?)
        .map_err(|m| ApiError::invalid(format!("field `amount`: {m}")))?;
    let scene = Scene::parse(f.str("scene")?).ok_or_else(|| {
        ApiError::invalid("field `scene` must be one of barcode, qrcode, jsapi, app, h5, web, face")
    })?;
    let auth_code = if scene.takes_auth_code() {
        let c = f.str("auth_code")?;
        if !(10..=32).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::invalid("field `auth_code` must be 10-32 digits"));
        }
        Some(c)
    } else {
        None
    };
    let subject = f.opt_str("subject")?.unwrap_or("");
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(ApiError::invalid(format!(
            "field `subject` must be at most {MAX_SUBJECT_CHARS} characters"
        )));
    }
    let notify_url = f.opt_str("notify_url")?;
    match notify_url {
        Some(u) => check_url(u)?,
        // Without it, approving on the payer page would pay silently.
        None if !scene.takes_auth_code() => {
            return Err(ApiError::invalid(
                "missing field `notify_url` (required unless scene is barcode or face)",
            ));
        }
        None => {}
    }
    let expires_in = match f.opt_u64("expires_in")? {
        None => None,
        Some(s) if (1..=MAX_EXPIRES_IN_SECS).contains(&s) => Some(Duration::from_secs(s)),
        Some(_) => {
            return Err(ApiError::invalid(format!(
                "field `expires_in` must be between 1 and {MAX_EXPIRES_IN_SECS} seconds"
            )));
        }
    };

    let req = PayRequest {
        merchant,
        out_trade_no,
        amount,
        currency,
        scene,
        auth_code,
        subject,
        notify_url,
        expires_in,
    };
    let outcome = p.store().pay(req, now, p.now());
    let (status, body) = match outcome? {
        PayOutcome::Order(o) => (StatusCode::OK, order_body(p, &o, "SUCCESS", None, true)),
        PayOutcome::Declined(o) => (
            StatusCode::OK,
            order_body(
                p,
                &o,
                "DECLINED",
                Some("insufficient balance".to_string()),
                true,
            ),
        ),
        PayOutcome::Timeout => {
            tracing::info!(
                merchant,
                out_trade_no,
                "sandbox provider: pay taken, answering TIMEOUT"
            );
            return Err(ApiError::Timeout);
        }
    };
    tracing::info!(
        merchant,
        out_trade_no,
        trade_no = body.trade_no,
        status = body.status,
        "sandbox provider: pay"
    );
    Ok((status, Answer::Order(body)))
}

fn check_url(u: &str) -> Result<(), ApiError> {
    let bad = || ApiError::invalid("field `notify_url` must be an absolute http(s) URL");
    if u.len() > MAX_URL_LEN {
        return Err(bad());
    }
    let url = reqwest::Url::parse(u).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad());
    }
    Ok(())
}

/// `with_links`: `pay` answers carry the payer page (`qr_code` for QR,
/// `pay_url` for the redirect-style scenes); other operations do not.
fn order_body(
    p: &Provider,
    o: &Order,
    code: &'static str,
    message: Option<String>,
    with_links: bool,
) -> OrderBody {
    let link = with_links.then(|| p.payer_url(&o.trade_no));
    let (qr_code, pay_url) = match o.scene {
        Scene::Qrcode => (link, None),
        Scene::Jsapi | Scene::App | Scene::H5 | Scene::Web => (None, link),
        Scene::Barcode | Scene::Face => (None, None),
    };
    OrderBody {
        code,
        message,
        trade_no: o.trade_no.clone(),
        out_trade_no: o.out_trade_no.clone(),
        status: o.status.as_str(),
        amount: o.currency.format(o.amount),
        currency: o.currency.code,
        qr_code,
        pay_url,
    }
}

fn refund_body(r: &Refund) -> RefundBody {
    let (code, message) = match r.status {
        RefundStatus::Succeeded => ("SUCCESS", None),
        RefundStatus::Failed => (
            "REFUND_FAILED",
            Some("the refund failed (sandbox:fail)".to_string()),
        ),
    };
    RefundBody {
        code,
        message,
        refund_no: r.refund_no.clone(),
        out_refund_no: r.out_refund_no.clone(),
        status: r.status.as_str(),
        amount: r.currency.format(r.amount),
    }
}
