//! Per-tenant admission: a rate (token bucket) and a bound on concurrent
//! requests, from each tenant's `[limits]`, so one tenant's flood or one
//! slow channel cannot take the workers, connections and plugin slots every
//! tenant shares. Excess is refused at once with 429 and `Retry-After`,
//! before any work is done. Requests without a valid key pass through to
//! be refused by authentication as usual.

use super::AppState;
use super::error::ApiError;
use super::extract::bearer;
use crate::config::TenantLimits;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Every tenant's buckets and semaphores, kept across reloads (a reload
/// that changes a tenant's limits starts its gate afresh).
#[derive(Default)]
pub struct Fairness {
    gates: Mutex<HashMap<String, Arc<Gate>>>,
    /// Callbacks: a rate only (they carry no key; see `admit_callback`).
    callback_gates: Mutex<HashMap<String, Arc<Gate>>>,
    /// Payers' actions on the hosted pages (no key either): the same rate.
    payer_gates: Mutex<HashMap<String, Arc<Gate>>>,
}

struct Gate {
    limits: TenantLimits,
    bucket: Option<Mutex<Bucket>>,
    in_flight: Arc<Semaphore>,
}

/// Tokens refill continuously at `rate` per second up to `burst`.
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Why a request was turned away, and when to come back.
#[derive(Debug)]
struct Refusal {
    message: String,
    retry_after: Duration,
}

impl Gate {
    fn new(limits: TenantLimits) -> Gate {
        Gate {
            bucket: limits.rate.map(|r| {
                Mutex::new(Bucket {
                    tokens: f64::from(r.burst),
                    refilled: Instant::now(),
                })
            }),
            in_flight: Arc::new(Semaphore::new(limits.max_concurrent_requests as usize)),
            limits,
        }
    }

    fn admit(&self, now: Instant) -> Result<OwnedSemaphorePermit, Refusal> {
        if let (Some(rate), Some(bucket)) = (self.limits.rate, &self.bucket) {
            let mut b = bucket.lock().expect("bucket lock");
            let per_second = f64::from(rate.per_second);
            let elapsed = now.saturating_duration_since(b.refilled).as_secs_f64();
            b.tokens = (b.tokens + elapsed * per_second).min(f64::from(rate.burst));
            b.refilled = now;
            if b.tokens < 1.0 {
                let wait = (1.0 - b.tokens) / per_second;
                return Err(Refusal {
                    message: format!(
                        "this tenant may send {} requests per second (bursts of {})",
                        rate.per_second, rate.burst
                    ),
                    retry_after: Duration::from_secs_f64(wait),
                });
            }
            b.tokens -= 1.0;
        }
        self.in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal {
                message: format!(
                    "this tenant may have {} requests in progress at once",
                    self.limits.max_concurrent_requests
                ),
                retry_after: Duration::from_secs(1),
            })
    }
}

impl Fairness {
    fn gate(&self, tenant: &str, limits: &TenantLimits) -> Arc<Gate> {
        gate_in(&self.gates, tenant, limits)
    }

    /// Admits one callback for `tenant` by its `callbacks_per_second`.
    pub fn admit_callback(&self, tenant: &str, limits: &TenantLimits) -> Result<(), Response> {
        admit_keyless(
            &self.callback_gates,
            tenant,
            limits,
            "tenant_callback_limit",
        )
    }

    /// Admits one payer action on the hosted pages (choosing a wallet,
    /// paying a static code), which makes channel calls without an API
    /// key: bounded per tenant like callbacks, in a bucket of its own.
    pub fn admit_payer_action(&self, tenant: &str, limits: &TenantLimits) -> Result<(), Response> {
        admit_keyless(&self.payer_gates, tenant, limits, "tenant_payer_limit")
    }
}

/// Admits one request that carries no API key at the tenant's
/// `callbacks_per_second` (a rate only), in the buckets of `gates`.
fn admit_keyless(
    gates: &Mutex<HashMap<String, Arc<Gate>>>,
    tenant: &str,
    limits: &TenantLimits,
    reason: &'static str,
) -> Result<(), Response> {
    let keyless = TenantLimits {
        rate: Some(limits.callbacks),
        ..limits.clone()
    };
    match gate_in(gates, tenant, &keyless).admit(Instant::now()) {
        Ok(_) => Ok(()),
        Err(refusal) => Err(too_many_requests(refusal, reason)),
    }
}

fn gate_in(
    gates: &Mutex<HashMap<String, Arc<Gate>>>,
    tenant: &str,
    limits: &TenantLimits,
) -> Arc<Gate> {
    let mut gates = gates.lock().expect("gates lock");
    match gates.get(tenant) {
        Some(g) if g.limits == *limits => g.clone(),
        _ => {
            let g = Arc::new(Gate::new(limits.clone()));
            gates.insert(tenant.to_string(), g.clone());
            g
        }
    }
}

/// The middleware: admits the request for its tenant, holding the
/// concurrency permit until the response is ready.
pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let registry = state.payments.registry();
    let Some(tenant) = bearer(request.headers())
        .ok()
        .and_then(|k| registry.tenant_by_api_key(k, state.payments.clock().now()))
    else {
        return next.run(request).await;
    };
    let gate = state
        .fairness
        .gate(&tenant.config.id, &tenant.config.limits);
    match gate.admit(Instant::now()) {
        Ok(_permit) => next.run(request).await,
        Err(refusal) => too_many_requests(refusal, "tenant_limit"),
    }
}

/// 429 with the reason and `Retry-After` in whole seconds (at least 1).
fn too_many_requests(refusal: Refusal, reason: &'static str) -> Response {
    metrics::counter!("paycore_requests_refused_total", "reason" => reason).increment(1);
    let seconds = refusal.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too_many_requests",
        format!("{}; retry after {seconds} s", refusal.message),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TenantRate;

    #[test]
    fn the_bucket_allows_its_burst_then_its_rate() {
        let gate = Gate::new(TenantLimits {
            rate: Some(TenantRate {
                per_second: 10,
                burst: 3,
            }),
            max_concurrent_requests: 100,
            ..TenantLimits::default()
        });
        let t0 = Instant::now();
        let admitted: Vec<_> = (0..3).map(|_| gate.admit(t0).unwrap()).collect();
        let refusal = gate.admit(t0).expect_err("the burst is spent");
        assert!(refusal.retry_after <= Duration::from_millis(100));
        assert!(refusal.message.contains("10 requests per second"));
        // A tenth of a second later one more token has come back.
        assert!(gate.admit(t0 + Duration::from_millis(101)).is_ok());
        drop(admitted);
    }

    #[test]
    fn concurrency_is_bounded_until_a_request_finishes() {
        let gate = Gate::new(TenantLimits {
            rate: None,
            max_concurrent_requests: 2,
            ..TenantLimits::default()
        });
        let now = Instant::now();
        let a = gate.admit(now).unwrap();
        let _b = gate.admit(now).unwrap();
        let refusal = gate.admit(now).expect_err("two are in progress");
        assert!(refusal.message.contains("2 requests in progress"));
        drop(a);
        assert!(gate.admit(now).is_ok());
    }
}
