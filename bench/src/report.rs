//! docs/performance.md's figures section and its chart. Everything between
//! the two markers is rewritten by each run; the prose around it is kept.

use crate::phases::{CARD_RUN, Measured, Sweep, TARGET_P99_MICROS};
use crate::stats::{Summary, human};
use crate::svg::{Chart, Series};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

pub const BEGIN: &str =
    "<!-- figures: written by `cargo xtask bench`; edits here are overwritten -->";
pub const END: &str = "<!-- end of figures -->";

/// `plugin-call`'s output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginCall {
    /// Criterion's median estimate, µs.
    pub wasm_median: f64,
    pub native_median: f64,
    /// Calls timed one by one, µs.
    pub wasm: Summary,
    pub native: Summary,
}

/// `statement-read`'s output: one long day's statement read through a
/// channel plugin, page by page, as a reconciliation run reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatementRead {
    pub channel: String,
    pub lines: u64,
    /// The file as downloaded, and its contents un-compressed.
    pub archive_bytes: u64,
    pub unzipped_bytes: u64,
    pub pages: u64,
    /// The whole read, every page's download included.
    pub seconds: f64,
    pub first_page_ms: f64,
    pub slowest_page_ms: f64,
    /// The largest linear memory any page's call asked for.
    pub peak_memory_bytes: u64,
    pub memory_cap_bytes: u64,
}

/// Everything `statement-read` measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatementFigures {
    pub reads: Vec<StatementRead>,
    pub day: Option<crate::reconcile_day::ReconciledDay>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub commit: String,
    pub date: String,
    /// SQLite's `synchronous` as paycore sets it.
    pub sqlite_synchronous: String,
}

impl Machine {
    pub fn this(commit: &str) -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let date = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .unwrap_or_default();
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            commit: commit.to_owned(),
            date,
            sqlite_synchronous: format!("{:?}", paycore::store::SQLITE_SYNCHRONOUS).to_uppercase(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub machine: Machine,
    pub quick: bool,
    pub plugin_call: Option<PluginCall>,
    #[serde(default)]
    pub statement: StatementFigures,
    pub measured: Measured,
    pub bench_seconds: f64,
}

/// `previous` with its figures section replaced by `figures` (or appended,
/// when it has none yet).
pub fn splice(previous: &str, figures: &str) -> String {
    let section = format!("{BEGIN}\n\n{}\n{END}", figures.trim_end());
    match (previous.find(BEGIN), previous.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{section}{}", &previous[..b], &previous[e + END.len()..])
        }
        _ if previous.trim().is_empty() => format!("# Performance\n\n{section}\n"),
        _ => format!("{}\n\n{section}\n", previous.trim_end()),
    }
}

fn ms(micros: f64) -> String {
    format!("{:.2}", micros / 1000.0)
}

fn yes(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

pub fn figures(r: &Results, chart: &str) -> String {
    let m = &r.measured;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Measured {} at commit `{}` on {} cores ({}){}; the load generator ran on the same machine. \
         SQLite in WAL mode with `synchronous = {}`. The whole run took {:.0} s.\n",
        r.machine.date,
        r.machine.commit,
        r.machine.cores,
        r.machine.cpu,
        if r.quick {
            ", **`--quick` run: short steps, rough figures**"
        } else {
            ""
        },
        r.machine.sqlite_synchronous,
        r.bench_seconds
    );
    targets(&mut s, r);
    if let Some(p) = &r.plugin_call {
        plugin_call(&mut s, p);
    }
    let _ = writeln!(s, "### Latency against offered rate\n");
    let _ = writeln!(
        s,
        "*wasm* and *native*: barcode payments the sandbox provider accepts at once, one HTTP round trip to it on loopback each. \
         *card*: the WASM build paying 1.00 from the tenant's own stored-value cards through the card plugin (`scene: jsapi`, 256 cards in turn): \
         no outbound HTTP, a hold and its capture on the host's ledger, each in its own transaction. \
         Sent at a constant rate; latency from each request's intended send time to its whole answer. \
         *Overhead* is the `Paycore-Overhead` header (time in paycore, excluding the plugin's wait on the provider).\n"
    );
    let _ = writeln!(s, "![p50 and p99 latency against offered rate]({chart})\n");
    for sweep in &m.sweeps {
        sweep_table(&mut s, sweep);
    }
    cost(&mut s, m);
    capacity(&mut s, m);
    reload(&mut s, m);
    crash(&mut s, m);
    startup(&mut s, m);
    statement_read(&mut s, &r.statement);
    s
}

fn statement_read(s: &mut String, figures: &StatementFigures) {
    if let Some(d) = &figures.day {
        let _ = writeln!(s, "### A day reconciled\n");
        let _ = writeln!(
            s,
            "paycore (SQLite, the sandbox channel's `.wasm`, its built-in provider) takes {} barcode payments on one business day \
             through the API ({:.0} payments/s with 32 in flight); the clock moves to the next morning and `POST /v1/reconciliations` \
             reads the provider's statement through the plugin, 2,000 lines a page, and matches every line against paycore's records.\n",
            d.payments, d.fill_rate
        );
        let _ = writeln!(
            s,
            "| payments | statement lines | matched | the run | process peak RSS |\n|---|---|---|---|---|\n| {} | {} | {} | {:.1} s | {} |\n",
            d.payments,
            d.lines,
            d.matched,
            d.run_seconds,
            mib(d.peak_rss_kib as f64)
        );
    }
    let reads = &figures.reads;
    if reads.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "### Reading a day's statement
"
    );
    let _ = writeln!(
        s,
        "A reconciliation run's reading of one day's statement: the channel plugin (`.wasm`, a statement call's default limits, \
         the same memory cap as every call) asks the channel's simulator on loopback for the day's file, downloads it and \
         reads it a page at a time (20,000 lines), downloading and inflating the file again for each page (the links live seconds). \
         The simulator makes its file once, before the read, as a channel serves a file made overnight. \
         *Peak memory* is the largest linear memory any page's call asked for.\n"
    );
    let _ = writeln!(
        s,
        "| channel | lines | file | un-compressed | pages | whole read | first page | slowest page | peak memory (cap) |\n|---|---|---|---|---|---|---|---|---|"
    );
    for r in reads {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.2} s | {:.0} ms | {:.0} ms | {} ({}) |",
            r.channel,
            r.lines,
            mib(r.archive_bytes as f64 / 1024.0),
            mib(r.unzipped_bytes as f64 / 1024.0),
            r.pages,
            r.seconds,
            r.first_page_ms,
            r.slowest_page_ms,
            mib(r.peak_memory_bytes as f64 / 1024.0),
            mib(r.memory_cap_bytes as f64 / 1024.0),
        );
    }
    let _ = writeln!(s);
}

fn targets(s: &mut String, r: &Results) {
    let m = &r.measured;
    let _ = writeln!(s, "### Targets\n");
    let _ = writeln!(s, "| target | measured | |\n|---|---|---|");
    if let Some(p) = &r.plugin_call {
        let _ = writeln!(
            s,
            "| WASM plugin call p99 < 100 µs | {} | {} |",
            human(p.wasm.p99),
            yes(p.wasm.p99 < 100.0)
        );
    }
    let cap = |b: &str| {
        m.capacity
            .iter()
            .find(|c| c.build == b)
            .map_or(0.0, |c| c.run.achieved_rate)
    };
    let capacity_ratio = cap("wasm") / cap("native").max(1e-9);
    let cost = |b: &str| {
        m.cost
            .iter()
            .find(|c| c.build == b)
            .map_or(0.0, |c| c.cpu_per_payment)
    };
    // Throughput on the same CPUs is inversely proportional to what a
    // payment costs.
    let ratio = cost("native") / cost("wasm").max(1e-9);
    let _ = writeln!(
        s,
        "| WASM end-to-end throughput ≥ 90 % of native | {:.0} % from server CPU per payment ({} against {} at {:.0}/s, see *Cost per payment*); {:.0} % at capacity ({:.0} against {:.0} payments/s) | {} |",
        ratio * 100.0,
        human(cost("wasm")),
        human(cost("native")),
        m.cost.first().map_or(0.0, |c| c.rate),
        capacity_ratio * 100.0,
        cap("wasm"),
        cap("native"),
        yes(ratio >= 0.9)
    );
    let best = m.sweeps.first().and_then(Sweep::best_sustained);
    let best_rate = best.map_or(0.0, |b| b.run.offered_rate);
    let _ = writeln!(
        s,
        "| ≥ 3,000 barcode payments/s with p99 ≤ 10 ms (WASM, SQLite) | {} | {} |",
        match best {
            Some(b) => format!(
                "{:.0}/s sustained (p99 {} ms)",
                best_rate,
                ms(b.run.latency.p99)
            ),
            None => "no rate sustained".into(),
        },
        yes(best_rate >= 3000.0)
    );
    card_target(s, m);
    let lost = m.crash.acknowledged - m.crash.found.min(m.crash.acknowledged);
    let _ = writeln!(
        s,
        "| every acknowledged payment survives kill -9 | {lost} lost of {} acknowledged | {} |",
        m.crash.acknowledged,
        yes(lost == 0)
    );
    let _ = writeln!(
        s,
        "| 0 failed requests while plugins are swapped | {} failed of {} ({} swaps) | {} |\n",
        m.reload.run.errors,
        m.reload.run.errors + m.reload.run.succeeded,
        m.reload.swaps,
        yes(m.reload.run.errors == 0)
    );
}

/// A card payment calls no provider: it should cost less than a wallet
/// payment, and be faster at the same rate.
fn card_target(s: &mut String, m: &Measured) {
    let cost = |b: &str| m.cost.iter().find(|c| c.build == b);
    let (Some(card), Some(wallet)) = (cost(CARD_RUN), cost("wasm")) else {
        return;
    };
    let best = |b: &str| {
        m.sweeps
            .iter()
            .find(|w| w.build == b)
            .and_then(Sweep::best_sustained)
            .map_or(0.0, |st| st.run.offered_rate)
    };
    let faster = card.cpu_per_payment < wallet.cpu_per_payment
        && card.run.latency.p50 < wallet.run.latency.p50;
    let _ = writeln!(
        s,
        "| a card payment faster than a wallet payment (WASM) | {} against {} of server CPU, p50 {} against {} ms at {:.0}/s; {:.0} against {:.0}/s sustained | {} |",
        human(card.cpu_per_payment),
        human(wallet.cpu_per_payment),
        ms(card.run.latency.p50),
        ms(wallet.run.latency.p50),
        card.rate,
        best(CARD_RUN),
        best("wasm"),
        yes(faster)
    );
}

fn plugin_call(s: &mut String, p: &PluginCall) {
    let _ = writeln!(s, "### Plugin call\n");
    let _ = writeln!(
        s,
        "One `pay` with one host HTTP request answered in memory. *wasm*: fresh store and instance from the `InstancePre`, \
         the host's grant check and HMAC, the answer copied across; *native*: the same channel code compiled in and called directly.\n"
    );
    let _ = writeln!(
        s,
        "| build | criterion median | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|"
    );
    for (name, median, d) in [
        ("wasm", p.wasm_median, &p.wasm),
        ("native", p.native_median, &p.native),
    ] {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} |",
            human(median),
            human(d.p50),
            human(d.p90),
            human(d.p99),
            human(d.max)
        );
    }
    let _ = writeln!(
        s,
        "\nWASM / native: {:.1}× at the median (criterion), {:.1}× at p99.\n",
        p.wasm_median / p.native_median.max(1e-9),
        p.wasm.p99 / p.native.p99.max(1e-9)
    );
}

fn sweep_table(s: &mut String, sweep: &Sweep) {
    let title = if sweep.build == CARD_RUN {
        "card payments (WASM build)".to_owned()
    } else {
        format!("{} build", sweep.build)
    };
    let _ = writeln!(s, "**{title}**\n");
    let _ = writeln!(
        s,
        "| offered/s | succeeded/s | errors | p50 ms | p90 ms | p99 ms | max ms | overhead p50 ms | overhead p99 ms | server CPU per payment | RSS |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for step in &sweep.steps {
        let r = &step.run;
        let mark = if step.sustained() { "" } else { " ✗" };
        let _ = writeln!(
            s,
            "| {:.0}{mark} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.offered_rate,
            r.achieved_rate,
            r.errors,
            ms(r.latency.p50),
            ms(r.latency.p90),
            ms(r.latency.p99),
            ms(r.latency.max),
            ms(r.overhead.p50),
            ms(r.overhead.p99),
            human(step.cpu_per_payment),
            mib(step.rss_kib as f64)
        );
    }
    let best = sweep.best_sustained().map_or(0.0, |b| b.run.offered_rate);
    let _ = writeln!(
        s,
        "\nHighest rate sustained with every payment succeeded and p99 ≤ {} ms: **{best:.0}/s**. ✗ marks rates that missed it.\n",
        TARGET_P99_MICROS / 1000.0
    );
}

fn cost(s: &mut String, m: &Measured) {
    let _ = writeln!(s, "### Cost per payment\n");
    let _ = writeln!(
        s,
        "Server CPU time (user and system, from `/proc`) per payment at one rate every run serves in full, the runs taking turns in short rounds: \
         on a machine shared with other work the CPU a piece of work takes drifts by tens of percent from minute to minute, and the rounds let the drift weigh on all alike. \
         Throughput on the same CPUs is inversely proportional to it.\n"
    );
    let _ = writeln!(
        s,
        "| build | rate | CPU per payment | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|"
    );
    for c in &m.cost {
        let _ = writeln!(
            s,
            "| {} | {:.0}/s | {} | {} | {} | {} |",
            c.build,
            c.rate,
            human(c.cpu_per_payment),
            ms(c.run.latency.p50),
            ms(c.run.latency.p99),
            c.run.errors
        );
    }
    s.push('\n');
}

fn capacity(s: &mut String, m: &Measured) {
    let _ = writeln!(s, "### Capacity\n");
    let _ = writeln!(
        s,
        "Closed loop: each connection sends its next payment when the last is answered, so this is the most the server completes, not a latency at a rate. \
         The runs take turns in short rounds, so a change in what else the machine runs weighs on all alike. \
         On a machine shared with other work this still favours the native build: its calls block threads (`block_in_place`), \
         so the process has more runnable threads and the kernel gives it a larger share of the CPUs. \
         Compare capacities on a quiet machine; the targets use the cost per payment.\n"
    );
    let _ = writeln!(
        s,
        "| build | connections | payments/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|"
    );
    for c in &m.capacity {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {} | {} | {} |",
            c.build,
            c.connections,
            c.run.achieved_rate,
            ms(c.run.latency.p50),
            ms(c.run.latency.p99),
            c.run.errors
        );
    }
    s.push('\n');
}

fn reload(s: &mut String, m: &Measured) {
    let r = &m.reload;
    let _ = writeln!(s, "### Under hot reload\n");
    let _ = writeln!(
        s,
        "{:.0} payments/s (half the highest rate the WASM build sustained, at least 200/s) while a new version of the sandbox plugin replaces `sandbox.wasm` every 2 s (written aside and renamed in).\n",
        r.rate
    );
    let _ = writeln!(
        s,
        "| swaps | live within 2 s | payments | failed | p50 ms | p99 ms | max ms | p99 ms within 1 s of a swap |\n|---|---|---|---|---|---|---|---|"
    );
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
        r.swaps,
        r.went_live,
        r.run.succeeded + r.run.errors,
        r.run.errors,
        ms(r.run.latency.p50),
        ms(r.run.latency.p99),
        ms(r.run.latency.max),
        ms(r.during_swaps.p99)
    );
}

fn crash(s: &mut String, m: &Measured) {
    let c = &m.crash;
    let _ = writeln!(s, "### kill -9 under load\n");
    let _ = writeln!(
        s,
        "{:.0} payments/s for 3 s; the server is killed with SIGKILL after 2 s and restarted on the same SQLite file. \
         Every payment answered `201 succeeded` before the kill is looked up by its order number.\n",
        c.rate
    );
    let _ = writeln!(
        s,
        "| acknowledged before the kill | found succeeded after the restart | lost |\n|---|---|---|\n| {} | {} | {} |\n",
        c.acknowledged,
        c.found,
        c.acknowledged - c.found.min(c.acknowledged)
    );
}

fn startup(s: &mut String, m: &Measured) {
    let _ = writeln!(s, "### Start-up and memory\n");
    let _ = writeln!(
        s,
        "Process start to `/readyz` answering 200. *Cold*: empty compiled-code cache (every plugin compiled); *warm*: the cache from the cold start.\n"
    );
    let _ = writeln!(
        s,
        "| plugin versions | cold | warm | RSS idle |\n|---|---|---|---|"
    );
    for st in &m.startup {
        let _ = writeln!(
            s,
            "| {} | {:.0} ms | {:.0} ms | {} |",
            st.plugins,
            st.cold_ms,
            st.warm_ms,
            mib(st.rss_idle_kib as f64)
        );
    }
    let peak = m
        .sweeps
        .iter()
        .flat_map(|w| w.steps.iter().map(move |st| (w.build.as_str(), st)))
        .filter(|(b, _)| *b == "wasm")
        .map(|(_, st)| st.rss_kib)
        .max()
        .unwrap_or(0);
    let most = m.startup.last().map_or(1, |st| st.plugins);
    let _ = writeln!(
        s,
        "\nMemory per loaded plugin version: **{:.0} KiB** (RSS with {most} versions less RSS with 1, over {}). RSS under load (WASM build, highest step of the sweep): {}.\n",
        m.kib_per_plugin_version,
        most.saturating_sub(1),
        mib(peak as f64)
    );
}

/// p50 and p99 against offered rate, each run.
pub fn chart(r: &Results) -> String {
    let colors = [
        ("wasm", "#1f77b4"),
        ("native", "#ff7f0e"),
        (CARD_RUN, "#2ca02c"),
    ];
    let mut series = Vec::new();
    for sweep in &r.measured.sweeps {
        let color = colors
            .iter()
            .find(|(b, _)| *b == sweep.build)
            .map_or("#555", |(_, c)| c);
        for (label, dashed, pick) in [
            ("p99", false, (|s: &Summary| s.p99) as fn(&Summary) -> f64),
            ("p50", true, |s: &Summary| s.p50),
        ] {
            series.push(Series {
                label: format!("{} {label}", sweep.build),
                color,
                dashed,
                points: sweep
                    .steps
                    .iter()
                    .map(|st| (st.run.offered_rate, pick(&st.run.latency) / 1000.0))
                    .collect(),
            });
        }
    }
    Chart {
        title: format!("Payments on SQLite, {} cores", r.machine.cores),
        x_label: "offered rate (payments/s)".into(),
        y_label: "latency (ms, log scale)".into(),
        series,
        threshold: Some((TARGET_P99_MICROS / 1000.0, "10 ms target".into())),
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splicing_keeps_the_prose_around_the_figures() {
        let doc = format!("# P\n\nintro\n\n{BEGIN}\nold\n{END}\n\n## Findings\n");
        let new = splice(&doc, "new figures");
        assert!(new.starts_with("# P\n\nintro\n\n"));
        assert!(new.contains("new figures") && !new.contains("old"));
        assert!(new.ends_with("\n\n## Findings\n"));
        assert_eq!(splice(&new, "again"), splice(&doc, "again"));
    }

    #[test]
    fn a_new_document_gets_a_title() {
        assert!(splice("", "x").starts_with("# Performance\n"));
    }
}
