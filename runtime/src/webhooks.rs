//! Delivers the outbox: signed merchant webhooks, at least once, with a
//! growing, jittered retry schedule and a dead letter at its end. Rows
//! survive restarts because they are written in the same transaction as the
//! change they announce: an event whose transaction did not commit does not
//! exist, and one that did is delivered even if paycore is killed the moment
//! after (a delivery whose success was not recorded is simply sent again).
//!
//! Several instances share the outbox: each claims a batch for a lease
//! (`Store::claim_webhooks`), so a message is sent by one instance at a
//! time, and one claimed by an instance that died is sent by another once
//! the lease runs out.

use crate::config::WebhooksConfig;
use crate::outbound::AddressPolicy;
use crate::payments::Payments;
use crate::store::OutboxMessage;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

const POLL: Duration = Duration::from_millis(250);
/// At most this many deliveries in flight; the next batch waits for them.
const BATCH: i64 = 20;

/// Delivers due webhooks until `stop`. Receivers are reached only at
/// addresses `outbound` permits (see `outbound`): a tenant's notify URL
/// must not turn paycore into a probe of its own network.
pub async fn run(
    payments: Arc<Payments>,
    config: WebhooksConfig,
    outbound: AddressPolicy,
    mut stop: watch::Receiver<bool>,
) {
    let client = match crate::outbound::client_builder(&outbound)
        .timeout(config.timeout)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; webhooks will not be delivered");
            return;
        }
    };
    let lease_ms = lease(&config).as_millis() as i64;
    let config = Arc::new(config);
    let mut drained = true;
    loop {
        if drained {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(POLL) => {}
            }
        } else if *stop.borrow() {
            return;
        }
        let due = match payments.store().claim_webhooks(BATCH, lease_ms).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                drained = true;
                continue;
            }
        };
        // A full batch may have left more due: claim again at once rather
        // than after the poll, so a backlog drains at the receivers' pace
        // (a pause after every batch held an instance to 80 a second).
        // Messages that failed are due only at their next attempt, so a
        // receiver that is down never makes this spin.
        drained = (due.len() as i64) < BATCH;
        // One slow receiver must not hold up the others' webhooks.
        let mut batch = JoinSet::new();
        for message in due {
            let (payments, client, config) = (payments.clone(), client.clone(), config.clone());
            let outbound = outbound.clone();
            batch.spawn(
                async move { deliver(&payments, &client, &config, &outbound, message).await },
            );
        }
        while batch.join_next().await.is_some() {}
    }
}

/// How long a claimed message is left to this instance: a batch's attempts
/// run concurrently, each bounded by the timeout, so twice that (and never
/// under two seconds) is ample for a live instance to record the outcome;
/// a dead instance's messages are sent by another once it runs out.
pub fn lease(config: &WebhooksConfig) -> Duration {
    (config.timeout * 2).max(Duration::from_secs(2))
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, as the
/// SDK's `webhook::verify_signature` checks it.
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    paycore_plugin_sdk::webhook::signature_header(secret, timestamp, body.as_bytes())
}

/// The delay before the next attempt after `failures` failed ones, moved at
/// random by up to `jitter_percent` either way so that receivers coming back
/// up are not hit by every retry at once; `None` once the schedule is spent.
pub fn retry_delay(
    config: &WebhooksConfig,
    failures: usize,
    rng: &mut impl Rng,
) -> Option<Duration> {
    let base = *config.retry_schedule.get(failures.checked_sub(1)?)?;
    let jitter = f64::from(config.jitter_percent) / 100.0;
    let factor = if jitter > 0.0 {
        1.0 + rng.random_range(-jitter..=jitter)
    } else {
        1.0
    };
    Some(base.mul_f64(factor))
}

async fn deliver(
    payments: &Payments,
    client: &reqwest::Client,
    config: &WebhooksConfig,
    outbound: &AddressPolicy,
    m: OutboxMessage,
) {
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
    let failure = match refused(outbound, &m.url) {
        Some(why) => Some(why),
        None => send(client, &secret, &m).await,
    };
    record(payments, config, &m, failure).await;
}

/// Why the outbound policy refuses `url` outright, if it does (names are
/// checked on their addresses when the client resolves them).
fn refused(outbound: &AddressPolicy, url: &str) -> Option<String> {
    let url = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Some(format!("refused: not a URL: {e}")),
    };
    let why = outbound.check_url(&url).err()?;
    tracing::warn!(host = ?url.host_str(), reason = %why, "webhook refused by the outbound policy");
    Some(format!("refused: {why}"))
}

/// One signed POST; `None` if the receiver acknowledged it.
async fn send(
    client: &reqwest::Client,
    secret: &crate::config::SecretValue,
    m: &OutboxMessage,
) -> Option<String> {
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
    match sent {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Some("timed out".into()),
        // The innermost cause says whether the outbound policy refused the
        // address; it names the host and address, never the URL's path.
        Err(e) if e.is_connect() => Some(format!("connection failed: {}", root_cause(&e))),
        Err(_) => Some("request failed".into()),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Records one attempt's outcome: delivered, or failed with the next
/// attempt scheduled (or dead-lettered once the schedule is spent).
async fn record(
    payments: &Payments,
    config: &WebhooksConfig,
    m: &OutboxMessage,
    failure: Option<String>,
) {
    let store = payments.store();
    let result = match failure {
        None => {
            tracing::info!(event_id = %m.id, event_type = %m.event_type, "webhook delivered");
            metrics::counter!("paycore_webhook_deliveries_total", "result" => "delivered")
                .increment(1);
            store.webhook_delivered(&m.id).await
        }
        Some(error) => {
            let failures = m.retry_step as usize + 1;
            let retry = retry_delay(config, failures, &mut rand::rng());
            let result = if retry.is_none() {
                "dead_lettered"
            } else {
                "will_retry"
            };
            metrics::counter!("paycore_webhook_deliveries_total", "result" => result).increment(1);
            if retry.is_none() {
                tracing::error!(event_id = %m.id, attempts = m.attempts + 1, %error, "webhook dead-lettered");
            } else {
                tracing::warn!(event_id = %m.id, attempt = m.attempts + 1, %error, "webhook delivery failed; will retry");
            }
            store
                .webhook_failed(&m.id, &error, retry.map(|d| d.as_millis() as i64))
                .await
        }
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot record the webhook attempt");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_timestamp_and_body() {
        let a = signature(b"whsec", 1_700_000_000, "{}");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_eq!(a.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(a, signature(b"whsec", 1_700_000_001, "{}"));
        assert_ne!(a, signature(b"whsec", 1_700_000_000, "{ }"));
    }

    #[test]
    fn retries_follow_the_schedule_within_the_jitter_then_stop() {
        let config = WebhooksConfig::default();
        let mut rng = rand::rng();
        for (i, base) in config.retry_schedule.iter().enumerate() {
            for _ in 0..50 {
                let d = retry_delay(&config, i + 1, &mut rng).unwrap();
                assert!(
                    d >= base.mul_f64(0.9) && d <= base.mul_f64(1.1),
                    "{i}: {d:?}"
                );
            }
        }
        let n = config.retry_schedule.len();
        assert_eq!(retry_delay(&config, n + 1, &mut rng), None, "dead letter");
        let exact = WebhooksConfig {
            jitter_percent: 0,
            ..WebhooksConfig::default()
        };
        assert_eq!(
            retry_delay(&exact, 1, &mut rng),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            retry_delay(&exact, 7, &mut rng),
            Some(Duration::from_secs(86_400))
        );
    }
}
