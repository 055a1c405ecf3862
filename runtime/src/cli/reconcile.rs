//! `paycore reconcile`: a channel's business day reconciled from the
//! command line (`paycore::app::reconcile`), its summary printed; exit 1
//! when differences remain or the run failed, so a scheduler can alert.

use clap::Args as ClapArgs;
use paycore::reconcile::{DifferenceView, RunSummary};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(ClapArgs)]
pub struct Args {
    #[arg(long, default_value = "config/paycore.toml")]
    config: PathBuf,
    #[arg(long)]
    tenant: String,
    /// One of the tenant's channels.
    #[arg(long)]
    channel: String,
    /// The business day, YYYY-MM-DD, in the channel's time zone.
    #[arg(long)]
    date: String,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(cfg) = super::config(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    let (run, items) = paycore::app::reconcile(
        &cfg,
        &super::overrides(),
        &args.tenant,
        &args.channel,
        &args.date,
    )
    .await?;
    println!(
        "reconciliation {} of {} {} ({}): {}",
        run.id, args.channel, run.business_day, run.time_zone, run.status
    );
    if let Some(why) = &run.failure {
        println!("  failed: {why}");
        return Ok(ExitCode::FAILURE);
    }
    let summary: RunSummary = serde_json::from_str(&run.summary).unwrap_or_default();
    println!(
        "  {} lines: {} matched, {} settled by a query, {} in flight",
        summary.lines, summary.matched, summary.settled, summary.in_flight
    );
    for (currency, t) in &summary.currencies {
        println!(
            "  {currency}: gross {} in {} payments, refunded {}, fees {}, net {} (minor units)",
            t.gross, t.payments.count, t.refunded, t.fees, t.net
        );
    }
    for item in items.iter().filter(|i| i.state == "open") {
        let d = DifferenceView::from(item);
        let refund = d
            .refund_no
            .as_deref()
            .map(|r| format!(" refund {r}"))
            .unwrap_or_default();
        println!(
            "  {}: {}{refund} {} {}",
            d.kind, d.merchant_order_no, d.amount, d.currency
        );
    }
    println!("  {} open differences", run.open_differences);
    Ok(if run.open_differences == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
