//! A whole day reconciled: paycore (in this process, on SQLite, with the
//! sandbox channel's `.wasm` and its built-in provider) takes `payments`
//! barcode payments over HTTP on one business day, the clock moves to the
//! next morning, and `POST /v1/reconciliations` reads the provider's
//! statement of the day through the plugin, page by page, and matches
//! every line against paycore's records. Timed end to end; the run must
//! match every payment and find no difference.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use paycore::clock::Clock;
use paycore::config::{self, Overrides};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::server::{API_KEY, Bed};

/// 2031-06-01 10:00 in Beijing.
const JUNE_1_10AM: i64 = 1_938_045_600_000;
const DAY: &str = "2031-06-01";
/// Payments in flight at once while the day is filled.
const CONCURRENCY: u64 = 32;

/// What `reconcile_day` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReconciledDay {
    pub payments: u64,
    /// The day filled through the API, payments per second.
    pub fill_rate: f64,
    /// `POST /v1/reconciliations`, from request to answer.
    pub run_seconds: f64,
    pub lines: u64,
    pub matched: u64,
    /// The process's peak resident memory after the run.
    pub peak_rss_kib: u64,
}

pub async fn reconcile_day(
    sandbox_wasm: &Path,
    work: &Path,
    payments: u64,
) -> Result<ReconciledDay> {
    let bed = Bed::new(work)?;
    std::fs::copy(sandbox_wasm, bed.plugins().join("sandbox.wasm"))?;
    let cfg = config::load(&bed.dir.join("config/paycore.toml"), &Overrides::default())
        .map_err(|e| anyhow::anyhow!("the bench's config: {e}"))?;
    let clock = Clock::manual_at_millis(JUNE_1_10AM);
    let app = paycore::app::start_with_clock(cfg, Overrides::default(), clock.clone()).await?;
    let base = format!("http://{}", app.addr);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    wait_for_channel(&client, &base).await?;

    let filled = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, base, next) = (client.clone(), base.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= payments {
                    return Ok::<(), anyhow::Error>(());
                }
                let answer: Value = client
                    .post(format!("{base}/v1/payments"))
                    .bearer_auth(API_KEY)
                    .json(&json!({
                        "merchant_order_no": format!("DAY-{i:08}"),
                        "amount": 1 + (i as i64 * 7919) % 99_999,
                        "currency": "CNY",
                        "scene": "barcode",
                        "auth_code": "134567890124",
                        "wallet": "sandbox",
                        "subject": "day",
                    }))
                    .send()
                    .await?
                    .json()
                    .await?;
                ensure!(answer["status"] == "succeeded", "payment {i}: {answer}");
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let fill_rate = payments as f64 / filled.elapsed().as_secs_f64();

    clock.advance(Duration::from_secs(24 * 3600));
    let started = Instant::now();
    let run: Value = client
        .post(format!("{base}/v1/reconciliations"))
        .bearer_auth(API_KEY)
        .json(&json!({ "channel": "sandbox", "date": DAY }))
        .send()
        .await?
        .json()
        .await?;
    let run_seconds = started.elapsed().as_secs_f64();
    ensure!(run["status"] == "completed", "the run: {run}");
    ensure!(
        run["open_differences"] == 0,
        "the run found differences: {}",
        run["summary"]
    );
    let count = |field: &str| run["summary"][field].as_u64().unwrap_or(0);
    let day = ReconciledDay {
        payments,
        fill_rate,
        run_seconds,
        lines: count("lines"),
        matched: count("matched"),
        peak_rss_kib: peak_rss_kib().unwrap_or(0),
    };
    ensure!(
        day.lines == payments && day.matched == payments,
        "{} lines, {} matched, of {payments}",
        day.lines,
        day.matched
    );
    app.shutdown().await;
    Ok(day)
}

/// Until the sandbox channel's plugin is loaded (the folder is read at
/// start, but its compile may still be going on).
async fn wait_for_channel(client: &reqwest::Client, base: &str) -> Result<()> {
    for _ in 0..600 {
        let ready = client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false);
        if ready {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("paycore did not become ready")
}

/// VmHWM: the most resident memory this process has had.
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
