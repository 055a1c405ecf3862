//! The asynchronous `payment.succeeded` notification, with retries.
//!
//! Like a real channel, the provider keeps telling the merchant until it
//! answers `200 {"code":"SUCCESS"}`, with a doubling delay, and then gives up.
//! Delivery runs in its own task so the payer page answers at once.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::header;
use time::format_description::well_known::Rfc3339;

use crate::Provider;
use crate::state::{Order, OrderStatus};
use crate::wire::{self, MERCHANT_HEADER, NotifyBody, SIGNATURE_HEADER};

pub(crate) const MAX_ATTEMPTS: u32 = 5;
/// Per attempt; a receiver that hangs must not hold a task forever.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The merchant's answer is tiny; do not buffer whatever a broken one sends.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

struct Job {
    merchant: String,
    trade_no: String,
    url: String,
    body: Bytes,
    signature: String,
}

/// Decrements the in-flight count however the task ends (even on panic), so
/// `drain_notifications` never waits for a task that is gone.
struct InFlight(Provider);

impl InFlight {
    fn start(p: &Provider) -> Self {
        p.inner.inflight.send_modify(|n| *n += 1);
        InFlight(p.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .inner
            .inflight
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Provider {
    /// Starts delivering the notification for a just-paid order. Must be
    /// called from within a Tokio runtime (it is, from the approve handler).
    pub(crate) fn spawn_notification(&self, order: &Order) {
        let Some(url) = order.notify_url.clone() else {
            tracing::warn!(
                trade_no = order.trade_no,
                "sandbox provider: paid order has no notify_url; nothing to notify"
            );
            return;
        };
        let Some(key) = self.merchant_key(&order.merchant) else {
            return;
        };
        let Some(client) = self.http_client() else {
            return;
        };
        let paid_at = order
            .paid_at
            .unwrap_or_else(|| self.now())
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default();
        let amount = order.currency.format(order.amount);
        let body = NotifyBody {
            event: "payment.succeeded",
            trade_no: &order.trade_no,
            out_trade_no: &order.out_trade_no,
            status: OrderStatus::Succeeded.as_str(),
            amount: &amount,
            currency: order.currency.code,
            paid_at: &paid_at,
        };
        let Ok(body) = serde_json::to_vec(&body) else {
            return;
        };
        let job = Job {
            merchant: order.merchant.clone(),
            trade_no: order.trade_no.clone(),
            url,
            signature: wire::sign(key, &body),
            body: Bytes::from(body),
        };
        // Counted before spawning, so a drain right after approve sees it.
        let guard = InFlight::start(self);
        let retry_base = self.inner.notify_retry_base;
        tokio::spawn(async move {
            deliver(&client, &job, retry_base).await;
            drop(guard);
        });
    }

    /// The notification client, built once. reqwest panics when building a
    /// rustls client with no process-wide crypto provider installed, so check
    /// first and report instead; not cached, so a later call can succeed.
    fn http_client(&self) -> Option<reqwest::Client> {
        if let Some(c) = self.inner.http.get() {
            return Some(c.clone());
        }
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            tracing::error!(
                "sandbox provider: no rustls CryptoProvider is installed in this process; cannot send notifications"
            );
            return None;
        }
        let built = reqwest::Client::builder()
            // Notifications go straight to paycore, never through a proxy from
            // the environment, and a redirect is an answer, not a detour.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(ATTEMPT_TIMEOUT)
            .timeout(ATTEMPT_TIMEOUT)
            .build();
        match built {
            Ok(c) => Some(self.inner.http.get_or_init(|| c).clone()),
            Err(e) => {
                tracing::error!(error = %e, "sandbox provider: cannot build the notification HTTP client");
                None
            }
        }
    }
}

async fn deliver(client: &reqwest::Client, job: &Job, retry_base: Duration) {
    let mut delay = retry_base;
    for attempt in 1..=MAX_ATTEMPTS {
        match attempt_once(client, job).await {
            Ok(()) => {
                tracing::info!(
                    merchant = job.merchant,
                    trade_no = job.trade_no,
                    attempt,
                    "sandbox provider: notification delivered"
                );
                return;
            }
            Err(reason) => tracing::warn!(
                merchant = job.merchant,
                trade_no = job.trade_no,
                url = job.url,
                attempt,
                reason,
                "sandbox provider: notification not accepted"
            ),
        }
        if attempt < MAX_ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
    tracing::error!(
        merchant = job.merchant,
        trade_no = job.trade_no,
        attempts = MAX_ATTEMPTS,
        "sandbox provider: giving up on notification"
    );
}

async fn attempt_once(client: &reqwest::Client, job: &Job) -> Result<(), String> {
    let mut resp = client
        .post(&job.url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(MERCHANT_HEADER, &job.merchant)
        .header(SIGNATURE_HEADER, &job.signature)
        .body(job.body.clone())
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    let status = resp.status();
    let mut answer = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| error_chain(&e))? {
        if answer.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!("answer larger than {MAX_ANSWER_BYTES} bytes"));
        }
        answer.extend_from_slice(&chunk);
    }
    if status != reqwest::StatusCode::OK {
        return Err(format!("HTTP {status}"));
    }
    let code = serde_json::from_slice::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string));
    match code.as_deref() {
        Some("SUCCESS") => Ok(()),
        _ => Err("answer is not {\"code\":\"SUCCESS\"}".to_string()),
    }
}

/// reqwest's top-level message ("error sending request") hides the cause.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}
