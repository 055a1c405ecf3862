//! Sends payments to a running paycore at a constant rate and prints the
//! latency distribution (see `paycore_bench::loadgen`): sandbox barcode
//! payments, or with `--cards` 1.00 from each of those cards in turn.
//!
//! `paycore-loadgen --url http://127.0.0.1:8080 --key sk_test_demo --rate 500 --seconds 10`
//! `paycore-loadgen --cards CARD_ID,CARD_ID --holder member-1 --rate 200`

use anyhow::{Context, Result, bail};
use paycore_bench::loadgen::{self, RunReport, Target, Tender};
use paycore_bench::stats::human;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut key, mut rate, mut seconds) = (
        "http://127.0.0.1:8080".to_owned(),
        "sk_test_demo".to_owned(),
        100.0,
        10.0,
    );
    let (mut cards, mut holder) = (Vec::new(), None);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => url = value,
            "--key" => key = value,
            "--rate" => rate = value.parse().context("--rate: payments per second")?,
            "--seconds" => seconds = value.parse().context("--seconds: run length")?,
            "--cards" => cards = value.split(',').map(str::to_owned).collect(),
            "--holder" => holder = Some(value),
            _ => bail!(
                "usage: paycore-loadgen [--url URL] [--key API_KEY] [--rate N] [--seconds S] [--cards ID,… --holder MEMBER]"
            ),
        }
    }
    let tender = match (cards.is_empty(), holder) {
        (true, None) => Tender::SandboxBarcode,
        (false, Some(holder)) => Tender::Cards {
            ids: cards.into(),
            holder,
        },
        _ => bail!("--cards and --holder go together: the cards' member pays"),
    };
    let target = Target {
        base_url: url.trim_end_matches('/').to_owned(),
        api_key: key,
        order_prefix: format!("LG{}", std::process::id()),
        tender,
    };
    let (samples, elapsed) =
        loadgen::open_loop(&target, rate, Duration::from_secs_f64(seconds)).await;
    let r = RunReport::of(rate, elapsed, &samples);
    println!(
        "offered {:.0}/s, succeeded {:.0}/s ({} ok, {} errors {:?})",
        r.offered_rate, r.achieved_rate, r.succeeded, r.errors, r.error_kinds
    );
    println!(
        "latency   p50 {}  p90 {}  p99 {}  max {}",
        human(r.latency.p50),
        human(r.latency.p90),
        human(r.latency.p99),
        human(r.latency.max)
    );
    println!(
        "overhead  p50 {}  p90 {}  p99 {}  max {}",
        human(r.overhead.p50),
        human(r.overhead.p90),
        human(r.overhead.p99),
        human(r.overhead.max)
    );
    Ok(())
}
