//! An open-model load generator for payments: barcode payments the sandbox
//! provider accepts, or card payments from the tenant's own cards.
//!
//! Requests are sent on a fixed schedule (constant arrival rate) whatever
//! the server does, and each latency is measured from the request's
//! *intended* send time, not from when it actually left: a server that
//! stalls makes every request scheduled during the stall late, as it would
//! for real clients, instead of quietly slowing the generator down
//! ("coordinated omission").

use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Where the payments go.
#[derive(Clone)]
pub struct Target {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    pub api_key: String,
    /// Prefix of every merchant order number, unique per run so runs never
    /// replay each other's orders.
    pub order_prefix: String,
    pub tender: Tender,
}

/// What each payment is paid with.
#[derive(Clone)]
pub enum Tender {
    /// A barcode the sandbox provider accepts at once (codes ending in 4):
    /// one round trip to the provider on loopback per payment.
    SandboxBarcode,
    /// 1.00 from one of these cards (ids), in turn, in the merchant's
    /// mini-program (`scene: jsapi`): no outbound HTTP at all, a hold and
    /// its capture on the host's ledger.
    Cards {
        ids: Arc<Vec<String>>,
        holder: String,
    },
}

impl Tender {
    fn body(&self, order_no: &str, n: u64) -> String {
        match self {
            Tender::SandboxBarcode => format!(
                r#"{{"merchant_order_no":"{order_no}","amount":8888,"currency":"CNY","scene":"barcode","auth_code":"134567890124","wallet":"sandbox","subject":"load"}}"#
            ),
            Tender::Cards { ids, holder } => {
                let card = &ids[(n % ids.len() as u64) as usize];
                format!(
                    r#"{{"merchant_order_no":"{order_no}","amount":100,"currency":"CNY","scene":"jsapi","wallet":"card","payer":{{"buyer_id":"{card}","open_id":"{holder}"}},"subject":"load"}}"#
                )
            }
        }
    }
}

/// What happened to one request.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Its merchant order number is `{order_prefix}-{order}`.
    pub order: u64,
    /// When it was meant to be sent, from the start of the run.
    pub intended: Duration,
    /// From the intended send time to the whole answer.
    pub latency: Duration,
    /// The server's `Paycore-Overhead` header.
    pub overhead: Option<Duration>,
    /// Why it failed; `None` for a succeeded payment.
    pub error: Option<String>,
}

/// One run at one offered rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub offered_rate: f64,
    /// Succeeded payments per second of the run.
    pub achieved_rate: f64,
    pub succeeded: usize,
    pub errors: usize,
    pub error_kinds: BTreeMap<String, usize>,
    /// Latency of succeeded payments, µs.
    pub latency: Summary,
    /// `Paycore-Overhead` of succeeded payments, µs.
    pub overhead: Summary,
}

impl RunReport {
    pub fn of(offered_rate: f64, elapsed: Duration, samples: &[Sample]) -> RunReport {
        let ok: Vec<&Sample> = samples.iter().filter(|s| s.error.is_none()).collect();
        let mut error_kinds = BTreeMap::new();
        for e in samples.iter().filter_map(|s| s.error.as_ref()) {
            *error_kinds.entry(e.clone()).or_insert(0) += 1;
        }
        let latencies: Vec<Duration> = ok.iter().map(|s| s.latency).collect();
        let overheads: Vec<Duration> = ok.iter().filter_map(|s| s.overhead).collect();
        RunReport {
            offered_rate,
            achieved_rate: ok.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            succeeded: ok.len(),
            errors: samples.len() - ok.len(),
            error_kinds,
            latency: Summary::of(&latencies),
            overhead: Summary::of(&overheads),
        }
    }
}

/// A client suited to many concurrent requests on loopback.
pub fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    // reqwest is built without a TLS provider of its own; plain HTTP still
    // needs one installed.
    paycore::plugin_host::install_crypto_provider();
    Ok(reqwest::Client::builder()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(4096)
        .timeout(timeout)
        .build()?)
}

/// Runs `work` with a client of its own on a thread of its own, under a
/// single-threaded runtime. The generator shares the machine with the
/// server: on a multi-threaded runtime each request hopped between threads
/// several times, and the context switches cost it about a third more CPU,
/// taken from the server. Its own thread also keeps the schedule free of
/// whatever else the bench does meanwhile (swapping plugins, polling).
async fn on_own_thread<T, F>(work: impl FnOnce(reqwest::Client) -> F + Send + 'static) -> T
where
    F: std::future::Future<Output = T>,
    T: Send + 'static,
{
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("paycore-loadgen".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the load generator");
            let client = client(Duration::from_secs(10)).expect("a client for the load generator");
            let _ = done.send(runtime.block_on(work(client)));
        })
        .expect("spawning the load generator's thread");
    result.await.expect("the load generator's thread returns")
}

/// Sends `rate` payments a second for `duration`, on schedule; returns every
/// sample and how long the run took (until its last answer).
pub async fn open_loop(target: &Target, rate: f64, duration: Duration) -> (Vec<Sample>, Duration) {
    let target = target.clone();
    on_own_thread(
        move |client| async move { open_loop_here(&client, &target, rate, duration).await },
    )
    .await
}

async fn open_loop_here(
    client: &reqwest::Client,
    target: &Target,
    rate: f64,
    duration: Duration,
) -> (Vec<Sample>, Duration) {
    let count = (rate * duration.as_secs_f64()).round() as u64;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    for i in 0..count {
        let intended = Duration::from_secs_f64(i as f64 / rate);
        // A late generator sends at once: the lateness is charged to latency.
        tokio::time::sleep_until((start + intended).into()).await;
        let (client, target, tx) = (client.clone(), target.clone(), tx.clone());
        tokio::spawn(async move {
            let sample = pay(&client, &target, i, start, intended).await;
            let _ = tx.send(sample);
        });
    }
    drop(tx);
    let mut samples = Vec::with_capacity(count as usize);
    while let Some(s) = rx.recv().await {
        samples.push(s);
    }
    (samples, start.elapsed())
}

/// `connections` clients each sending their next payment as soon as the
/// last one is answered, for `duration`: the server's capacity, not its
/// latency at a given rate.
pub async fn closed_loop(
    target: &Target,
    connections: u64,
    duration: Duration,
) -> (Vec<Sample>, Duration) {
    let target = target.clone();
    on_own_thread(move |client| async move {
        closed_loop_here(&client, &target, connections, duration).await
    })
    .await
}

async fn closed_loop_here(
    client: &reqwest::Client,
    target: &Target,
    connections: u64,
    duration: Duration,
) -> (Vec<Sample>, Duration) {
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let (client, target) = (client.clone(), target.clone());
        workers.spawn(async move {
            let mut samples = Vec::new();
            let mut n = 0;
            while start.elapsed() < duration {
                let sent = start.elapsed();
                let order = worker * 10_000_000 + n;
                samples.push(pay(&client, &target, order, start, sent).await);
                n += 1;
            }
            samples
        });
    }
    let mut samples = Vec::new();
    while let Some(done) = workers.join_next().await {
        samples.extend(done.expect("a load worker panicked"));
    }
    (samples, start.elapsed())
}

/// One payment paid with the target's tender, timed from `start + intended`.
async fn pay(
    client: &reqwest::Client,
    target: &Target,
    n: u64,
    start: Instant,
    intended: Duration,
) -> Sample {
    let body = target
        .tender
        .body(&format!("{}-{n}", target.order_prefix), n);
    let sent = client
        .post(format!("{}/v1/payments", target.base_url))
        .bearer_auth(&target.api_key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let result = match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let overhead = response
                .headers()
                .get("paycore-overhead")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .map(Duration::from_micros);
            match response.bytes().await {
                Ok(body) if status == 201 && succeeded(&body) => Ok(overhead),
                Ok(_) => Err(format!("HTTP {status}")),
                Err(e) => Err(kind(&e)),
            }
        }
        Err(e) => Err(kind(&e)),
    };
    let latency = start.elapsed().saturating_sub(intended);
    match result {
        Ok(overhead) => Sample {
            order: n,
            intended,
            latency,
            overhead,
            error: None,
        },
        Err(error) => Sample {
            order: n,
            intended,
            latency,
            overhead: None,
            error: Some(error),
        },
    }
}

fn succeeded(body: &[u8]) -> bool {
    let needle = br#""status":"succeeded""#;
    body.windows(needle.len()).any(|w| w == needle)
}

fn kind(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else {
        "broken".into()
    }
}
