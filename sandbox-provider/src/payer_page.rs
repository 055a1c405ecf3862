//! The payer page: what a wallet app would show after scanning the QR code.
//!
//! Self-contained HTML (inline CSS, no scripts, no external assets) so it works
//! offline in the demo. Everything interpolated is escaped: the subject and
//! the merchant's order number come from the merchant's request.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use time::format_description::well_known::Rfc3339;

use crate::Provider;
use crate::state::{ApproveError, Order, OrderStatus};

pub(crate) async fn show(State(p): State<Provider>, Path(trade_no): Path<String>) -> Response {
    let order = p.store().payer_view(&trade_no, Instant::now());
    match order {
        Some(o) => page(StatusCode::OK, "Sandbox payment", &order_card(&o, None)),
        None => not_found(),
    }
}

pub(crate) async fn approve(State(p): State<Provider>, Path(trade_no): Path<String>) -> Response {
    let result = p.store().approve(&trade_no, Instant::now(), p.now());
    match result {
        Ok(order) => {
            tracing::info!(
                merchant = order.merchant,
                out_trade_no = order.out_trade_no,
                trade_no = order.trade_no,
                "sandbox provider: payer approved"
            );
            p.spawn_notification(&order);
            // Post/redirect/get: reloading the result does not approve again.
            // Relative, so it works wherever the router is nested:
            // /…/payer/{t}/approve → /…/payer/{t}.
            let mut resp = StatusCode::SEE_OTHER.into_response();
            if let Ok(loc) = HeaderValue::from_str(&format!("../{}", order.trade_no)) {
                resp.headers_mut().insert(header::LOCATION, loc);
            }
            resp
        }
        Err(ApproveError::NotFound) => not_found(),
        Err(ApproveError::Expired) => {
            let o = p.store().payer_view(&trade_no, Instant::now());
            conflict(
                o.as_ref(),
                "This order expired before it was paid. It is now closed.",
            )
        }
        Err(ApproveError::NotPending(status)) => {
            let o = p.store().payer_view(&trade_no, Instant::now());
            let msg = match status {
                OrderStatus::Succeeded => "This order is already paid.".to_string(),
                s => format!("This order is {} and can no longer be paid.", s.as_str()),
            };
            conflict(o.as_ref(), &msg)
        }
    }
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Order not found",
        "<h1>Order not found</h1><p class=\"muted\">This payment link is unknown or has been forgotten by the sandbox.</p>",
    )
}

fn conflict(order: Option<&Order>, msg: &str) -> Response {
    let notice = format!("<p class=\"notice\">{}</p>", esc(msg));
    let body = match order {
        Some(o) => order_card(o, Some(&notice)),
        None => notice,
    };
    page(StatusCode::CONFLICT, "Cannot pay", &body)
}

fn order_card(o: &Order, notice: Option<&str>) -> String {
    let status = o.status.as_str();
    let action = match o.status {
        OrderStatus::Pending => format!(
            "<form method=\"post\" action=\"{}/approve\"><button type=\"submit\">Approve payment</button></form>",
            esc(&o.trade_no)
        ),
        OrderStatus::Succeeded => {
            let at = o
                .paid_at
                .and_then(|t| t.replace_nanosecond(0).ok())
                .and_then(|t| t.format(&Rfc3339).ok())
                .unwrap_or_default();
            format!("<p class=\"paid\">&#10003; Paid {}</p>", esc(&at))
        }
        _ => String::new(),
    };
    let subject = if o.subject.is_empty() {
        String::new()
    } else {
        format!("<p class=\"subject\">{}</p>", esc(&o.subject))
    };
    format!(
        "<h1>Pay {merchant}</h1>{subject}\
         <p class=\"amount\">{amount} <span>{currency}</span></p>\
         {notice}\
         <dl>\
         <dt>Merchant</dt><dd>{merchant}</dd>\
         <dt>Order</dt><dd>{out_trade_no}</dd>\
         <dt>Trade no</dt><dd>{trade_no}</dd>\
         <dt>Status</dt><dd><span class=\"badge s-{class}\">{status}</span></dd>\
         </dl>{action}",
        merchant = esc(&o.merchant),
        amount = esc(&o.currency.format(o.amount)),
        currency = esc(o.currency.code),
        notice = notice.unwrap_or(""),
        out_trade_no = esc(&o.out_trade_no),
        trade_no = esc(&o.trade_no),
        class = status.to_ascii_lowercase(),
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main><div class=\"brand\">paycore sandbox wallet</div>{body}\
         <footer>Simulated provider &middot; no real money moves</footer></main></body></html>",
        title = esc(title),
    );
    let mut resp = (status, Html(html)).into_response();
    // The status changes when the payer approves; never show a stale page.
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:linear-gradient(160deg,#eef2f7,#dfe7f1);font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2733}\
main{background:#fff;width:min(420px,92vw);padding:28px 28px 20px;border-radius:16px;box-shadow:0 10px 30px rgba(20,40,70,.12)}\
.brand{font-size:12px;letter-spacing:.12em;text-transform:uppercase;color:#6b7a8c;margin-bottom:12px}\
h1{font-size:20px;margin:0 0 4px;word-break:break-all}\
.subject{margin:0;color:#4a5868}\
.amount{font-size:40px;font-weight:700;margin:16px 0;font-variant-numeric:tabular-nums}\
.amount span{font-size:18px;font-weight:600;color:#6b7a8c}\
dl{display:grid;grid-template-columns:auto 1fr;gap:6px 16px;margin:0 0 20px;font-size:14px}\
dt{color:#6b7a8c}dd{margin:0;word-break:break-all}\
.badge{display:inline-block;padding:1px 10px;border-radius:999px;font-size:12px;font-weight:600;background:#e6ebf1;color:#3a4757}\
.s-pending,.s-processing{background:#fff4d6;color:#8a6100}\
.s-succeeded{background:#dcf5e5;color:#17663a}\
.s-failed,.s-closed,.s-cancelled{background:#fde2e2;color:#8f1d1d}\
button{width:100%;padding:14px;border:0;border-radius:10px;background:#1769e0;color:#fff;font-size:17px;font-weight:600;cursor:pointer}\
button:hover{background:#0f56bd}\
.paid{margin:0 0 12px;color:#17663a;font-weight:600}\
.notice{padding:10px 12px;border-radius:8px;background:#fff1f0;color:#8f1d1d;font-size:14px}\
.muted{color:#6b7a8c}\
footer{margin-top:18px;font-size:12px;color:#8a97a6;text-align:center}";

/// HTML-escapes text for element content and double-quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::esc("<b a=\"x\">&'"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
