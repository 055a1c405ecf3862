//! `paycore-bench`: the end-to-end half of `cargo xtask bench`. Starts real
//! `paycore serve` processes and measures start-up and memory, latency
//! against offered rate for the WASM and the native build, capacity, and a
//! run under hot reload; then writes docs/performance.md (see `report`).
//!
//! `cargo xtask bench` builds everything and passes the paths; run it rather
//! than this binary.

use anyhow::{Context, Result, bail};
use paycore_bench::phases::{self, Options};
use paycore_bench::report::{self, Machine, Results};

#[tokio::main]
async fn main() -> Result<()> {
    let options = parse(std::env::args().skip(1).collect())?;
    let started = std::time::Instant::now();
    let plugin_call = std::fs::read_to_string(&options.plugin_call)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let statement = std::fs::read_to_string(&options.statement_read)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let measured = phases::run_all(&options).await?;
    let results = Results {
        machine: Machine::this(&options.commit),
        quick: options.quick,
        plugin_call,
        statement,
        measured,
        bench_seconds: started.elapsed().as_secs_f64(),
    };
    std::fs::write(
        options.work.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    std::fs::write(&options.chart, report::chart(&results))?;
    let chart_name = options
        .chart
        .file_name()
        .context("the chart is a file")?
        .to_string_lossy()
        .into_owned();
    let previous = std::fs::read_to_string(&options.out).unwrap_or_default();
    std::fs::write(
        &options.out,
        report::splice(&previous, &report::figures(&results, &chart_name)),
    )?;
    println!(
        "\nwrote {} and {}",
        options.out.display(),
        options.chart.display()
    );
    Ok(())
}

fn parse(args: Vec<String>) -> Result<Options> {
    let mut quick = false;
    let mut values = std::collections::HashMap::new();
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        if flag == "--quick" {
            quick = true;
            continue;
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        values.insert(flag, value);
    }
    let mut take = |name: &str| -> Result<String> {
        match values.remove(name) {
            Some(v) => Ok(v),
            None => bail!("missing {name} (run `cargo xtask bench`)"),
        }
    };
    // Servers run in their own folders: every path must be absolute.
    let mut path =
        |name: &str| -> Result<std::path::PathBuf> { Ok(std::path::absolute(take(name)?)?) };
    Ok(Options {
        wasm_server: path("--paycore")?,
        native_server: path("--paycore-native")?,
        stamped_plugin: path("--stamped-plugin")?,
        card_plugin: path("--card-plugin")?,
        plugin_call: path("--plugin-call")?,
        statement_read: path("--statement-read")?,
        work: path("--work")?,
        out: path("--out")?,
        chart: path("--chart")?,
        commit: take("--commit")?,
        quick,
    })
}
