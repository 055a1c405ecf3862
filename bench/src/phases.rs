//! The end-to-end measurements, each against fresh `paycore serve`
//! processes: start-up and memory, latency against offered rate (WASM and
//! native builds, and card payments), capacity, and a run under hot reload.

use crate::loadgen::{self, RunReport, Sample, Target, Tender};
use crate::server::{API_KEY, Bed, CARD_HOLDER, Server, Versions};
use crate::stats::Summary;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Paths and switches from `cargo xtask bench`.
pub struct Options {
    /// `paycore` built in release, and with `--features native-sandbox`.
    pub wasm_server: PathBuf,
    pub native_server: PathBuf,
    /// The sandbox plugin built as version 1.0.1000 (see `server::Versions`).
    pub stamped_plugin: PathBuf,
    /// The card plugin, for the card payments' sweep.
    pub card_plugin: PathBuf,
    /// `plugin-call`'s JSON.
    pub plugin_call: PathBuf,
    /// `statement-read`'s figures (JSON).
    pub statement_read: PathBuf,
    /// Scratch folder for the servers' beds.
    pub work: PathBuf,
    /// The markdown file whose figures section is rewritten, and the chart.
    pub out: PathBuf,
    pub chart: PathBuf,
    pub commit: String,
    pub quick: bool,
}

/// A sweep stops at the first rate whose p99 exceeds this.
const GIVE_UP_P99_MICROS: f64 = 50_000.0;
/// The latency target a rate must meet to count as sustained.
pub const TARGET_P99_MICROS: f64 = 10_000.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    pub startup: Vec<Startup>,
    /// Memory per loaded plugin version, KiB: the RSS difference between
    /// the most and 1 loaded versions (warm cache), divided by the
    /// versions added.
    pub kib_per_plugin_version: f64,
    pub sweeps: Vec<Sweep>,
    pub capacity: Vec<Capacity>,
    pub cost: Vec<Cost>,
    pub reload: Reload,
    pub crash: Crash,
}

/// kill -9 in the middle of the load, then a restart on the same database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Crash {
    pub rate: f64,
    /// Payments answered 201 `succeeded` before the kill.
    pub acknowledged: usize,
    /// Of those, found `succeeded` after the restart.
    pub found: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Startup {
    pub plugins: usize,
    /// Process start to `/readyz` answering 200, ms.
    pub cold_ms: f64,
    pub warm_ms: f64,
    /// RSS once ready and idle (warm start), KiB.
    pub rss_idle_kib: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sweep {
    /// `wasm` or `native`.
    pub build: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub run: RunReport,
    /// Server CPU time (user and system) per succeeded payment, µs: what a
    /// payment costs whatever else the machine runs.
    pub cpu_per_payment: f64,
    /// RSS of the server at the end of the step, KiB.
    pub rss_kib: u64,
}

impl Step {
    /// Every payment succeeded, at the offered rate, with p99 ≤ 10 ms.
    pub fn sustained(&self) -> bool {
        self.run.errors == 0
            && self.run.achieved_rate >= 0.95 * self.run.offered_rate
            && self.run.latency.p99 <= TARGET_P99_MICROS
    }
}

impl Step {
    /// Past the knee: p99 over 50 ms, or more than 1 % of payments failed.
    fn gives_up(&self) -> bool {
        self.run.latency.p99 > GIVE_UP_P99_MICROS
            || self.run.errors * 100 > self.run.succeeded + self.run.errors
    }
}

impl Sweep {
    pub fn best_sustained(&self) -> Option<&Step> {
        self.steps
            .iter()
            .filter(|s| s.sustained())
            .max_by(|a, b| a.run.offered_rate.total_cmp(&b.run.offered_rate))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Capacity {
    pub build: String,
    pub connections: u64,
    pub run: RunReport,
}

/// What a payment costs each build at the same rate, the builds taking
/// turns in short rounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cost {
    pub build: String,
    pub rate: f64,
    /// Server CPU time per succeeded payment, µs.
    pub cpu_per_payment: f64,
    pub run: RunReport,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reload {
    pub rate: f64,
    pub swaps: usize,
    /// Swaps seen live on `/admin/channels` before the next one.
    pub went_live: usize,
    pub run: RunReport,
    /// Latency of payments scheduled within a second after a swap, µs.
    pub during_swaps: Summary,
}

pub async fn run_all(o: &Options) -> Result<Measured> {
    let versions = Versions::new(&o.stamped_plugin)?;
    let client = loadgen::client(Duration::from_secs(10))?;
    println!("== start-up and memory");
    let startup = startup(o, &versions, &client).await?;
    let kib_per_plugin_version = match (startup.first(), startup.last()) {
        (Some(one), Some(most)) if most.plugins > one.plugins => {
            (most.rss_idle_kib as f64 - one.rss_idle_kib as f64)
                / (most.plugins - one.plugins) as f64
        }
        _ => 0.0,
    };
    let mut sweeps = Vec::new();
    // Both servers stay up for the capacity rounds below; an idle one
    // costs nothing but its sweeper's tick.
    let mut running = Vec::new();
    for (build, binary) in [("wasm", &o.wasm_server), ("native", &o.native_server)] {
        println!("== {build} build: latency against offered rate");
        let bed = Bed::new(&o.work.join(format!("sweep-{build}")))?;
        versions.install(0, &bed.plugins(), "sandbox.wasm")?;
        let mut server = Server::start(binary, &bed)?;
        server.ready(&client).await?;
        let target = target(&server, build, Tender::SandboxBarcode);
        warm_up(&target).await;
        sweeps.push(sweep(o, build, &server, &target).await);
        running.push((build, server, target));
    }
    println!("== card payments (WASM build): latency against offered rate");
    let (server, target) = card_server(o, &client).await?;
    warm_up(&target).await;
    sweeps.push(sweep(o, CARD_RUN, &server, &target).await);
    running.push((CARD_RUN, server, target));
    println!("== capacity, each run in turn");
    let capacity = capacity(o, &running).await;
    println!("== CPU per payment at {COST_RATE:.0}/s, each run in turn");
    let cost = cost(o, &running).await;
    drop(running);
    let reload_rate = sweeps[0]
        .best_sustained()
        .map_or(200.0, |s| (s.run.offered_rate / 2.0).max(200.0));
    println!("== hot reload under {reload_rate:.0} payments/s");
    let reload = reload(o, &versions, &client, reload_rate).await?;
    println!("== kill -9 under {reload_rate:.0} payments/s");
    let crash = crash(o, &versions, &client, reload_rate).await?;
    Ok(Measured {
        crash,
        startup,
        kib_per_plugin_version,
        sweeps,
        capacity,
        cost,
        reload,
    })
}

fn target(server: &Server, run: &str, tender: Tender) -> Target {
    Target {
        base_url: server.base_url.clone(),
        api_key: API_KEY.into(),
        order_prefix: format!("{run}-{}", std::process::id()),
        tender,
    }
}

/// The name of the run paying with cards (WASM build) in every table.
pub const CARD_RUN: &str = "card";

/// Cards the load pays from, in turn: enough that payments seldom queue on
/// one card's row, as at a real till where each member pays with her own.
const BENCH_CARDS: usize = 256;

/// A WASM-build server whose tenant pays from its own cards, and the
/// target paying from `BENCH_CARDS` cards issued to one member, each with
/// 1,000,000.00 of promotional value (1.00 a payment: far more than any run
/// spends).
async fn card_server(o: &Options, client: &reqwest::Client) -> Result<(Server, Target)> {
    let bed = Bed::with_cards(&o.work.join("sweep-card"))?;
    std::fs::copy(&o.card_plugin, bed.plugins().join("card.wasm"))
        .with_context(|| format!("copying {}", o.card_plugin.display()))?;
    let mut server = Server::start(&o.wasm_server, &bed)?;
    server.ready(client).await?;
    let mut ids = Vec::with_capacity(BENCH_CARDS);
    for n in 0..BENCH_CARDS {
        let answer = client
            .post(format!("{}/v1/cards", server.base_url))
            .bearer_auth(API_KEY)
            .header("idempotency-key", format!("bench-card-{n}"))
            .json(&serde_json::json!({
                "program": "bench",
                "holder": CARD_HOLDER,
                "amount": 100_000_000,
                "funded_by": { "type": "promotion" },
            }))
            .send()
            .await?;
        let status = answer.status();
        let body: serde_json::Value = answer.json().await?;
        let id = body["id"]
            .as_str()
            .with_context(|| format!("issuing a bench card: HTTP {status} {body}"))?;
        ids.push(id.to_owned());
    }
    let tender = Tender::Cards {
        ids: ids.into(),
        holder: CARD_HOLDER.into(),
    };
    let target = target(&server, CARD_RUN, tender);
    Ok((server, target))
}

/// Connections, the database and the plugin's code paths warm before timing.
async fn warm_up(target: &Target) {
    let target = Target {
        order_prefix: format!("{}-warm", target.order_prefix),
        ..target.clone()
    };
    let _ = loadgen::open_loop(&target, 200.0, Duration::from_secs(1)).await;
}

async fn startup(
    o: &Options,
    versions: &Versions,
    client: &reqwest::Client,
) -> Result<Vec<Startup>> {
    let mut rows = Vec::new();
    // 100 versions take a minute to compile cold; the quick run stops at 20.
    let counts: &[usize] = if o.quick { &[1, 20] } else { &[1, 20, 100] };
    for &plugins in counts {
        let bed = Bed::new(&o.work.join(format!("startup-{plugins}")))?;
        for n in 0..plugins {
            versions.install(n, &bed.plugins(), &format!("sandbox-{n}.wasm"))?;
        }
        bed.clear_cache();
        let cold_ms = time_to_ready(&o.wasm_server, &bed, client).await?.0;
        let (warm_ms, rss_idle_kib) = time_to_ready(&o.wasm_server, &bed, client).await?;
        println!(
            "{plugins} plugin(s): ready in {cold_ms:.0} ms cold, {warm_ms:.0} ms warm; {rss_idle_kib} KiB idle"
        );
        rows.push(Startup {
            plugins,
            cold_ms,
            warm_ms,
            rss_idle_kib,
        });
    }
    Ok(rows)
}

/// Starts a server, waits until it is ready, lets it settle, stops it.
async fn time_to_ready(
    binary: &std::path::Path,
    bed: &Bed,
    client: &reqwest::Client,
) -> Result<(f64, u64)> {
    let mut server = Server::start(binary, bed)?;
    let ready = server.ready(client).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok((ready.as_secs_f64() * 1000.0, server.rss_kib().unwrap_or(0)))
}

fn rates(quick: bool) -> (Vec<f64>, Duration) {
    if quick {
        (
            vec![500.0, 1000.0, 2000.0, 3000.0, 4000.0],
            Duration::from_secs(2),
        )
    } else {
        (
            vec![
                250.0, 500.0, 1000.0, 1250.0, 1500.0, 1750.0, 2000.0, 2250.0, 2500.0, 3000.0,
                3500.0, 4000.0, 5000.0, 6000.0, 8000.0,
            ],
            Duration::from_secs(5),
        )
    }
}

/// Rising rates until p99 passes 50 ms (or payments fail), twice in a row.
async fn sweep(o: &Options, build: &str, server: &Server, target: &Target) -> Sweep {
    let (rates, length) = rates(o.quick);
    let mut steps = Vec::new();
    for (i, rate) in rates.into_iter().enumerate() {
        let target = Target {
            order_prefix: format!("{}-r{i}", target.order_prefix),
            ..target.clone()
        };
        let mut step = measure_step(server, &target, rate, length).await;
        if step.gives_up() {
            // One stall of a busy machine must not end the sweep: a rate
            // is given up on only when it misses twice.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let again = Target {
                order_prefix: format!("{}-again", target.order_prefix),
                ..target.clone()
            };
            step = measure_step(server, &again, rate, length).await;
        }
        let give_up = step.gives_up();
        steps.push(step);
        if give_up {
            break;
        }
        // Let the queues drain so one step does not bleed into the next.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Sweep {
        build: build.into(),
        steps,
    }
}

async fn measure_step(server: &Server, target: &Target, rate: f64, length: Duration) -> Step {
    let cpu_before = server.cpu_time().unwrap_or_default();
    let (samples, elapsed) = loadgen::open_loop(target, rate, length).await;
    let cpu = server
        .cpu_time()
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    let run = RunReport::of(rate, elapsed, &samples);
    let step = Step {
        cpu_per_payment: cpu.as_secs_f64() * 1e6 / run.succeeded.max(1) as f64,
        run,
        rss_kib: server.rss_kib().unwrap_or(0),
    };
    print_step(&step);
    step
}

fn print_step(s: &Step) {
    let r = &s.run;
    println!(
        "  {:>6.0}/s offered  {:>6.0}/s ok  errors {:<4} p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  overhead p50 {:.2} ms  cpu {:.0} µs/payment  rss {} MiB",
        r.offered_rate,
        r.achieved_rate,
        r.errors,
        r.latency.p50 / 1000.0,
        r.latency.p99 / 1000.0,
        r.latency.max / 1000.0,
        r.overhead.p50 / 1000.0,
        s.cpu_per_payment,
        s.rss_kib / 1024
    );
}

/// A rate every build serves in full even on a busy 2-core machine.
const COST_RATE: f64 = 300.0;

/// Each build's server CPU per payment at the same rate, in rounds taking
/// turns. On a virtual machine shared with other work the CPU a given piece
/// of work takes drifts by tens of percent from one minute to the next;
/// alternating short rounds lets the drift weigh on both builds alike.
async fn cost(o: &Options, running: &[(&str, Server, Target)]) -> Vec<Cost> {
    let (rounds, length) = if o.quick {
        (2, Duration::from_secs(1))
    } else {
        (5, Duration::from_secs(3))
    };
    let mut per_build = vec![(Vec::new(), Duration::ZERO, Duration::ZERO); running.len()];
    for round in 0..rounds {
        for ((_, server, target), (samples, elapsed, cpu)) in
            running.iter().zip(per_build.iter_mut())
        {
            let target = Target {
                order_prefix: format!("{}-cost{round}", target.order_prefix),
                ..target.clone()
            };
            let before = server.cpu_time().unwrap_or_default();
            let (more, took) = loadgen::open_loop(&target, COST_RATE, length).await;
            *cpu += server.cpu_time().unwrap_or_default().saturating_sub(before);
            samples.extend(more);
            *elapsed += took;
        }
    }
    running
        .iter()
        .zip(per_build)
        .map(|((build, _, _), (samples, elapsed, cpu))| {
            let run = RunReport::of(COST_RATE, elapsed, &samples);
            let cpu_per_payment = cpu.as_secs_f64() * 1e6 / run.succeeded.max(1) as f64;
            println!(
                "  {build}: {cpu_per_payment:.0} µs of server CPU per payment, p99 {:.2} ms",
                run.latency.p99 / 1000.0
            );
            Cost {
                build: build.to_string(),
                rate: COST_RATE,
                cpu_per_payment,
                run,
            }
        })
        .collect()
}

/// Each build's capacity: `connections` clients in a closed loop, in short
/// rounds taking turns between the builds, so that a change in what else
/// the machine runs weighs on both alike.
async fn capacity(o: &Options, running: &[(&str, Server, Target)]) -> Vec<Capacity> {
    let connections = 32;
    let (rounds, length) = if o.quick {
        (2, Duration::from_secs(1))
    } else {
        (4, Duration::from_secs(3))
    };
    let mut per_build: Vec<(Vec<Sample>, Duration)> =
        vec![(Vec::new(), Duration::ZERO); running.len()];
    for round in 0..rounds {
        for ((_, _, target), (samples, elapsed)) in running.iter().zip(per_build.iter_mut()) {
            let target = Target {
                order_prefix: format!("{}-cap{round}", target.order_prefix),
                ..target.clone()
            };
            let (more, took) = loadgen::closed_loop(&target, connections, length).await;
            samples.extend(more);
            *elapsed += took;
        }
    }
    running
        .iter()
        .zip(per_build)
        .map(|((build, _, _), (samples, elapsed))| {
            let run = RunReport::of(0.0, elapsed, &samples);
            println!(
                "  {build}: {:.0} payments/s over {rounds} rounds, p99 {:.2} ms, errors {}",
                run.achieved_rate,
                run.latency.p99 / 1000.0,
                run.errors
            );
            Capacity {
                build: build.to_string(),
                connections,
                run,
            }
        })
        .collect()
}

/// The load at `rate` while a new version of the sandbox plugin replaces
/// the file every 2 s.
async fn reload(
    o: &Options,
    versions: &Versions,
    client: &reqwest::Client,
    rate: f64,
) -> Result<Reload> {
    let bed = Bed::new(&o.work.join("reload"))?;
    versions.install(0, &bed.plugins(), "sandbox.wasm")?;
    let mut server = Server::start(&o.wasm_server, &bed)?;
    server.ready(client).await?;
    let target = target(&server, "reload", Tender::SandboxBarcode);
    warm_up(&target).await;
    let length = if o.quick {
        Duration::from_secs(9)
    } else {
        Duration::from_secs(21)
    };
    let swaps = (length.as_secs() / 2) as usize;
    let started = Instant::now();
    let load = {
        let target = target.clone();
        tokio::spawn(async move { loadgen::open_loop(&target, rate, length).await })
    };
    let mut swapped_at = Vec::new();
    let mut went_live = 0;
    for n in 1..=swaps {
        tokio::time::sleep_until((started + Duration::from_secs(2 * n as u64 - 1)).into()).await;
        swapped_at.push(started.elapsed());
        versions.install(n, &bed.plugins(), "sandbox.wasm")?;
        if live_within(client, &server, n, Duration::from_millis(1900)).await {
            went_live += 1;
        }
    }
    let (samples, elapsed) = load.await.context("the load task")?;
    let run = RunReport::of(rate, elapsed, &samples);
    let during: Vec<Duration> = samples
        .iter()
        .filter(|s| s.error.is_none() && near_a_swap(s, &swapped_at))
        .map(|s| s.latency)
        .collect();
    let during_swaps = Summary::of(&during);
    println!(
        "  {swaps} swaps ({went_live} live in time): errors {}, p99 {:.2} ms overall, {:.2} ms within 1 s of a swap",
        run.errors,
        run.latency.p99 / 1000.0,
        during_swaps.p99 / 1000.0
    );
    Ok(Reload {
        rate,
        swaps,
        went_live,
        run,
        during_swaps,
    })
}

fn near_a_swap(s: &Sample, swaps: &[Duration]) -> bool {
    swaps
        .iter()
        .any(|t| s.intended >= *t && s.intended < *t + Duration::from_secs(1))
}

/// Polls `/admin/channels` until the channel is bound to version `n`.
async fn live_within(client: &reqwest::Client, server: &Server, n: usize, limit: Duration) -> bool {
    let want = format!("sandbox@1.0.{}", 1000 + n);
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let bound = client
            .get(format!("{}/admin/channels", server.base_url))
            .bearer_auth("adm_bench")
            .send()
            .await;
        if let Ok(r) = bound
            && let Ok(text) = r.text().await
            && text.contains(&want)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Loads a server, kills it with SIGKILL mid-run, restarts it on the same
/// database and looks up every payment that was acknowledged as succeeded.
async fn crash(
    o: &Options,
    versions: &Versions,
    client: &reqwest::Client,
    rate: f64,
) -> Result<Crash> {
    let bed = Bed::new(&o.work.join("crash"))?;
    versions.install(0, &bed.plugins(), "sandbox.wasm")?;
    let mut server = Server::start(&o.wasm_server, &bed)?;
    server.ready(client).await?;
    let target = target(&server, "crash", Tender::SandboxBarcode);
    let load = {
        let target = target.clone();
        tokio::spawn(async move { loadgen::open_loop(&target, rate, Duration::from_secs(3)).await })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.kill_9()?;
    let (samples, _) = load.await.context("the load task")?;
    let acknowledged: Vec<u64> = samples
        .iter()
        .filter(|s| s.error.is_none())
        .map(|s| s.order)
        .collect();
    let mut restarted = Server::start(&o.wasm_server, &bed)?;
    restarted.ready(client).await?;
    let mut lookups = tokio::task::JoinSet::new();
    let found = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for chunk in acknowledged.chunks(acknowledged.len().div_ceil(16).max(1)) {
        let (client, base, prefix, chunk, found) = (
            client.clone(),
            restarted.base_url.clone(),
            target.order_prefix.clone(),
            chunk.to_vec(),
            found.clone(),
        );
        lookups.spawn(async move {
            for n in chunk {
                let answer = client
                    .get(format!("{base}/v1/payments?merchant_order_no={prefix}-{n}"))
                    .bearer_auth(API_KEY)
                    .send()
                    .await;
                if let Ok(r) = answer
                    && let Ok(text) = r.text().await
                    && text.contains(r#""status":"succeeded""#)
                {
                    found.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
    }
    while lookups.join_next().await.is_some() {}
    let found = found.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "  {} acknowledged before the kill, {found} found succeeded after the restart",
        acknowledged.len()
    );
    Ok(Crash {
        rate,
        acknowledged: acknowledged.len(),
        found,
    })
}
