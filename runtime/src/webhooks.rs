//! Delivers the outbox: signed merchant webhooks, at least once, with a
//! growing retry schedule; rows survive restarts because they are written in
//! the same transaction as the change they announce.

use crate::payments::Payments;
use crate::store::OutboxMessage;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const POLL: Duration = Duration::from_millis(250);
const BATCH: i64 = 20;
/// Delay before attempt n+1, after n failures; past the end it is a dead letter.
const RETRY_SCHEDULE_SECS: [i64; 8] = [5, 30, 120, 600, 1800, 3600, 7200, 21600];

pub async fn run(payments: Arc<Payments>, mut stop: watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; webhooks will not be delivered");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        let due = match payments.store().due_webhooks(BATCH).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                continue;
            }
        };
        for message in due {
            deliver(&payments, &client, message).await;
        }
    }
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

async fn deliver(payments: &Payments, client: &reqwest::Client, m: OutboxMessage) {
    let registry = payments.registry();
    let Some(secret) = registry
        .tenant(&m.tenant_id)
        .and_then(|t| t.config.webhook_secret.clone())
    else {
        let _ = payments
            .store()
            .webhook_failed(&m.id, "the tenant has no webhook secret any more", None)
            .await;
        return;
    };
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let sent = client
        .post(&m.url)
        .header("content-type", "application/json")
        .header(
            "paycore-signature",
            signature(secret.expose(), timestamp, &m.payload),
        )
        .header("paycore-event-id", &m.id)
        .body(m.payload.clone())
        .send()
        .await;
    let failure = match sent {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Some(if e.is_timeout() {
            "timed out".into()
        } else if e.is_connect() {
            "connection failed".into()
        } else {
            "request failed".into()
        }),
    };
    let store = payments.store();
    let result = match failure {
        None => {
            tracing::info!(event_id = %m.id, event_type = %m.event_type, "webhook delivered");
            store.webhook_delivered(&m.id).await
        }
        Some(error) => {
            let retry = RETRY_SCHEDULE_SECS
                .get(m.attempts as usize)
                .map(|s| s * 1000);
            tracing::warn!(event_id = %m.id, attempt = m.attempts + 1, %error, dead = retry.is_none(), "webhook delivery failed");
            store.webhook_failed(&m.id, &error, retry).await
        }
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot record the webhook attempt");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_covers_timestamp_and_body() {
        let a = super::signature(b"whsec", 1_700_000_000, "{}");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_eq!(a.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(a, super::signature(b"whsec", 1_700_000_001, "{}"));
        assert_ne!(a, super::signature(b"whsec", 1_700_000_000, "{ }"));
    }
}
