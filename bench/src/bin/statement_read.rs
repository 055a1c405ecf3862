//! Reading one long day's statement through each channel plugin, as a
//! reconciliation run does: the plugin (`.wasm`, the host's default limits
//! for a statement call, the same 64 MiB of memory as any call) asks the
//! channel's simulator on loopback for the day's file (Alipay's ZIP of GBK
//! CSV, WeChat Pay's gzip checked by SHA-1), downloads it and reads it page
//! by page. Reports the file's size, each page's time, the whole read, and
//! the largest linear memory any page asked for.
//!
//! Then a whole day reconciled through paycore with the sandbox channel
//! (`paycore_bench::reconcile_day`).
//!
//! `statement-read ALIPAY.wasm WECHATPAY.wasm SANDBOX.wasm WORK_DIR OUT.json
//! [--quick]` (100,000 lines a day; 10,000 with `--quick`).

use anyhow::{Context, Result, bail, ensure};
use paycore::channel;
use paycore::config::{PluginLimits, SecretValue};
use paycore::outbound::OutboundConfig;
use paycore::plugin_host::{ChannelGrant, PluginHost, Tracer};
use paycore_bench::reconcile_day::reconcile_day;
use paycore_bench::report::{StatementFigures, StatementRead};
use paycore_simulators::alipay::{self, Gateway};
use paycore_simulators::wechatpay;
use paycore_simulators::{BusinessClock, Order, OrderState};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use time::macros::datetime;

const APP_ID: &str = "2021000000000001";
const DAY: &str = "2031-06-01";

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [alipay_wasm, wechat_wasm, sandbox_wasm, work, out] = paths[..] else {
        bail!(
            "usage: statement-read ALIPAY.wasm WECHATPAY.wasm SANDBOX.wasm WORK_DIR OUT.json [--quick]"
        );
    };
    let lines: u64 = if quick { 10_000 } else { 100_000 };
    let limits = PluginLimits::default();
    let host = PluginHost::with_cache(limits.clone(), None, OutboundConfig::loopback())?;
    let reads = vec![
        alipay_day(&host, alipay_wasm, lines).await?,
        wechat_day(&host, wechat_wasm, lines).await?,
    ];
    for f in &reads {
        println!(
            "{}: {} lines ({:.1} MiB downloaded, {:.1} MiB un-compressed) in {} pages, {:.2} s; first page {:.0} ms, slowest {:.0} ms; peak plugin memory {:.1} MiB of {} MiB",
            f.channel,
            f.lines,
            f.archive_bytes as f64 / 1048576.0,
            f.unzipped_bytes as f64 / 1048576.0,
            f.pages,
            f.seconds,
            f.first_page_ms,
            f.slowest_page_ms,
            f.peak_memory_bytes as f64 / 1048576.0,
            f.memory_cap_bytes >> 20
        );
    }
    let day = reconcile_day(Path::new(sandbox_wasm), Path::new(work), lines).await?;
    println!(
        "a day of {} payments (filled at {:.0}/s) reconciled in {:.1} s: {} lines, {} matched; peak RSS {} MiB",
        day.payments,
        day.fill_rate,
        day.run_seconds,
        day.lines,
        day.matched,
        day.peak_rss_kib >> 10
    );
    let figures = StatementFigures {
        reads,
        day: Some(day),
    };
    std::fs::write(out, serde_json::to_string_pretty(&figures)?)?;
    Ok(())
}

/// The morning after the day read, in Beijing, when both channels have
/// published it.
fn next_morning() -> BusinessClock {
    BusinessClock::from_fn(|| datetime!(2031-06-02 11:00 +8))
}

/// `lines` payments spread over the day, amounts from 0.01 to 999.99.
fn day_of_orders(lines: u64) -> impl Iterator<Item = Order> {
    let start = datetime!(2031-06-01 00:00 +8);
    (0..lines).map(move |i| Order {
        out_trade_no: format!("BENCH_{i:08}"),
        trade_no: format!("42000000{i:020}"),
        amount: 1 + (i as i64 * 7919) % 99_999,
        state: OrderState::Paid,
        behaviour: Default::default(),
        queries: 0,
        scanned: true,
        notify_url: None,
        refunds: Vec::new(),
        paid_at: Some(start + time::Duration::milliseconds((i * 86_000_000 / lines) as i64)),
        reversed_at: None,
    })
}

fn secret(pem: &str) -> SecretValue {
    SecretValue::new(pem.as_bytes().to_vec())
}

async fn alipay_day(host: &PluginHost, wasm: &str, lines: u64) -> Result<StatementRead> {
    let gateway = Gateway::start(
        "127.0.0.1:0",
        alipay::Config {
            clock: next_morning(),
            ..alipay::Config::demo(APP_ID)
        },
    )
    .await?;
    day_of_orders(lines).for_each(|o| gateway.insert_order(o));
    let archive = gateway.bill_file(time::macros::date!(2031 - 06 - 01));
    let unzipped = unzipped_size(&archive)?;
    let secrets = [
        (
            "merchant_private_key",
            secret(paycore_simulators::demo_keys::ALIPAY_MERCHANT_PRIVATE),
        ),
        (
            "alipay_public_key",
            secret(include_str!(
                "../../../config/secrets/alipay-demo-gateway-public.pem"
            )),
        ),
    ];
    let settings = [
        ("gateway_url", gateway.gateway_url()),
        ("app_id", APP_ID.to_owned()),
    ];
    let mut figures = read_day(host, "alipay", wasm, &secrets, &settings, lines).await?;
    figures.archive_bytes = archive.len() as u64;
    figures.unzipped_bytes = unzipped;
    Ok(figures)
}

async fn wechat_day(host: &PluginHost, wasm: &str, lines: u64) -> Result<StatementRead> {
    const MCHID: &str = "1900000001";
    const SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
    const PLATFORM_SERIAL: &str = "PUB_KEY_ID_0119000000012026112500000000000001";
    let server = wechatpay::Server::start(
        "127.0.0.1:0",
        wechatpay::Config {
            clock: next_morning(),
            ..wechatpay::Config::demo(MCHID, SERIAL, PLATFORM_SERIAL)
        },
    )
    .await?;
    day_of_orders(lines).for_each(|o| server.insert_order(o));
    let csv = server
        .trade_bill(DAY)
        .context("the simulator has the day's bill")?;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gzip, csv.as_bytes())?;
    let downloaded = gzip.finish()?.len() as u64;
    let secrets = [
        (
            "merchant_private_key",
            secret(paycore_simulators::demo_keys::WECHATPAY_MERCHANT_PRIVATE),
        ),
        (
            "platform_public_key",
            secret(include_str!(
                "../../../config/secrets/wechatpay-demo-platform-public.pem"
            )),
        ),
        (
            "apiv3_key",
            SecretValue::new(paycore_simulators::demo_keys::WECHATPAY_APIV3_KEY.to_vec()),
        ),
    ];
    let settings = [
        ("base_url", server.base_url()),
        ("mchid", MCHID.to_owned()),
        ("appid", "wxd678efh567hg6787".to_owned()),
        ("serial_no", SERIAL.to_owned()),
        ("platform_serial", PLATFORM_SERIAL.to_owned()),
    ];
    let mut figures = read_day(host, "wechatpay", wasm, &secrets, &settings, lines).await?;
    figures.archive_bytes = downloaded;
    figures.unzipped_bytes = csv.len() as u64;
    Ok(figures)
}

/// Reads the day through `wasm` page by page, as a run does, and checks
/// it read every line and the statement states as many.
async fn read_day(
    host: &PluginHost,
    channel_id: &str,
    wasm: &str,
    secrets: &[(&str, SecretValue)],
    settings: &[(&str, String)],
    lines: u64,
) -> Result<StatementRead> {
    let plugin = host
        .load_file(&PathBuf::from(wasm))
        .await
        .with_context(|| format!("loading {wasm}"))?;
    let tracer = Arc::new(Tracer::default());
    let grant = Arc::new(ChannelGrant {
        tenant: "bench".into(),
        channel: channel_id.into(),
        hosts: vec!["127.0.0.1".into()],
        secrets: secrets
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect::<BTreeMap<_, _>>(),
        tracer: Some(tracer.clone()),
        programs: Arc::from([]),
        timezone: paycore::clock::TimeZone::UTC,
    });
    let ctx = channel::CallContext {
        tenant: "bench".into(),
        channel: channel_id.into(),
        settings: settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        notify_url: format!("http://127.0.0.1:9/v1/callbacks/bench/{channel_id}"),
    };

    // One page first, unmeasured: the simulator makes its file once (a
    // channel serves a file it made overnight), and the plugin is warm.
    host.statement(&plugin, grant.clone(), ctx.clone(), DAY, None)
        .await
        .map_err(|e| anyhow::anyhow!("{channel_id}: {e}"))?;
    tracer.take();

    let started = Instant::now();
    let mut cursor = None;
    let mut read = 0u64;
    let mut amount = 0i64;
    let mut page_millis = Vec::new();
    loop {
        let page_started = Instant::now();
        let page = host
            .statement(&plugin, grant.clone(), ctx.clone(), DAY, cursor)
            .await
            .map_err(|e| anyhow::anyhow!("{channel_id} page {}: {e}", page_millis.len() + 1))?;
        page_millis.push(page_started.elapsed().as_secs_f64() * 1000.0);
        read += page.lines.len() as u64;
        amount += page.lines.iter().map(|l| l.amount).sum::<i64>();
        cursor = page.next;
        if cursor.is_none() {
            // What the statement says of itself must be what was read.
            let stated = page
                .totals
                .per_currency
                .get("CNY")
                .with_context(|| format!("{channel_id}: the last page states no totals"))?;
            ensure!(
                stated.payment_amount == Some(amount),
                "{channel_id}: read {amount} fen, the statement states {:?}",
                stated.payment_amount
            );
            if let Some(count) = stated.payment_count {
                ensure!(
                    count == lines,
                    "{channel_id}: the statement states {count} payments"
                );
            }
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    ensure!(read == lines, "read {read} lines of {lines}");
    let peak = tracer
        .take()
        .iter()
        .map(|t| t.peak_memory)
        .max()
        .unwrap_or(0);
    Ok(StatementRead {
        channel: channel_id.into(),
        lines,
        archive_bytes: 0,
        unzipped_bytes: 0,
        pages: page_millis.len() as u64,
        seconds,
        first_page_ms: page_millis[0],
        slowest_page_ms: page_millis.iter().copied().fold(0.0, f64::max),
        peak_memory_bytes: peak as u64,
        memory_cap_bytes: host.limits().memory_bytes as u64,
    })
}

/// The files' size once un-zipped.
fn unzipped_size(archive: &[u8]) -> Result<u64> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive))?;
    let mut total = 0;
    for i in 0..zip.len() {
        total += zip.by_index(i)?.size();
    }
    Ok(total)
}
