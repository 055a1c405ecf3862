//! What a run found, as stored and announced: one item per matched line,
//! line in flight and difference (with both sides as JSON), the day's
//! summary, the `reconciliation.discrepancy` webhooks of differences not
//! found before, and the metrics.

use super::view::{
    ChannelLine, CurrencyTotals, DifferenceView, Discrepancy, PaycoreRecord, RunSummary,
};
use crate::domain::{EventKind, new_id};
use crate::payments::view::WebhookBody;
use crate::registry::Tenant;
use crate::store::{OutboxMessage, ReconciliationItem, ReconciliationRecord, RunOutcome};
use paycore_core::reconcile::{Difference, LineKey, Reconciliation, StatementLine};
use std::collections::{BTreeMap, BTreeSet};

/// A key's stored form: `payment:<order>`, `reversal:<order>`,
/// `refund:<order>:<refund>` (`refund:<order>:` when the channel gave no
/// number). Order and refund numbers never hold `:` as paycore sends them,
/// but the refund part is read as the rest, so one that did still parses.
pub fn item_key(key: &LineKey) -> String {
    match key {
        LineKey::Payment(order) => format!("payment:{order}"),
        LineKey::Reversal(order) => format!("reversal:{order}"),
        LineKey::Refund(order, refund) => {
            format!("refund:{order}:{}", refund.as_deref().unwrap_or(""))
        }
    }
}

/// The key an item was stored under; a duplicate's `#n` suffix is
/// dropped (it is the same key).
pub fn parse_item_key(stored: &str) -> Option<LineKey> {
    let stored = stored.split_once('#').map_or(stored, |(key, _)| key);
    let (kind, rest) = stored.split_once(':')?;
    match kind {
        "payment" => Some(LineKey::Payment(rest.to_owned())),
        "reversal" => Some(LineKey::Reversal(rest.to_owned())),
        "refund" => {
            let (order, refund) = rest.split_once(':')?;
            let refund = (!refund.is_empty()).then(|| refund.to_owned());
            Some(LineKey::Refund(order.to_owned(), refund))
        }
        _ => None,
    }
}

/// The run's items: `settled` compared after the re-checks, `first`
/// before them. A difference of the first comparison that the second
/// matched was settled by the channel's answer, and says so.
pub(super) fn items(
    run: &ReconciliationRecord,
    first: &Reconciliation,
    settled: &Reconciliation,
    now: &str,
) -> Vec<ReconciliationItem> {
    let found_first: BTreeMap<String, &Difference> = first
        .differences
        .iter()
        .map(|d| (item_key(&d.key), d))
        .collect();
    let mut keys = Keys::default();
    let mut items = Vec::new();
    let item = |key: String, verdict: &str, state: &str| ReconciliationItem {
        reconciliation_id: run.id.clone(),
        tenant_id: run.tenant_id.clone(),
        item_key: key,
        verdict: verdict.to_owned(),
        state: state.to_owned(),
        payment_id: None,
        refund_id: None,
        merchant_order_no: String::new(),
        refund_no: None,
        currency: String::new(),
        amount: 0,
        fee: 0,
        line: None,
        ours: None,
        note: None,
        updated_at: now.to_owned(),
    };
    for m in &settled.matched {
        let key = item_key(&m.key());
        let (verdict, state, note) = match found_first.get(&key) {
            Some(before) => (
                before.kind.as_str(),
                "settled",
                Some("the channel's answer to a query settled it; paycore now agrees".to_owned()),
            ),
            None => ("matched", "matched", None),
        };
        items.push(ReconciliationItem {
            payment_id: Some(m.payment_id.clone()),
            refund_id: m.refund_id.clone(),
            fee: m.fee,
            note,
            ..with_line(item(keys.unique(key), verdict, state), &m.line)
        });
    }
    for f in &settled.in_flight {
        items.push(ReconciliationItem {
            payment_id: Some(f.payment_id.clone()),
            refund_id: f.refund_id.clone(),
            note: Some(
                "still processing at the channel and at paycore: run the day again later".into(),
            ),
            ..with_line(
                item(keys.unique(item_key(&f.line.key())), "in_flight", "open"),
                &f.line,
            )
        });
    }
    for d in &settled.differences {
        let key = item_key(&d.key);
        let note = found_first
            .get(&key)
            .filter(|before| before.kind != d.kind)
            .map(|before| format!("found as {} before the channel was asked", before.kind));
        let mut found = item(keys.unique(key), d.kind.as_str(), "open");
        found.payment_id = d.payment_id.clone();
        found.refund_id = d.refund_id.clone();
        found.merchant_order_no = d.key.merchant_order_no().to_owned();
        found.currency = d.currency().to_owned();
        found.amount = d.line.as_ref().map_or_else(|| ours_amount(d), |l| l.amount);
        found.ours = PaycoreRecord::of(d.payment.as_ref(), d.refund.as_ref()).map(|r| to_json(&r));
        found.note = note;
        if let LineKey::Refund(_, refund) = &d.key {
            found.refund_no = refund.clone();
        }
        items.push(match &d.line {
            Some(line) => with_line(found, line),
            None => found,
        });
    }
    items
}

/// Item keys, a repeated one made unique with `#2`, `#3`…: a duplicate
/// line is an item of its own.
#[derive(Default)]
struct Keys(BTreeMap<String, usize>);

impl Keys {
    fn unique(&mut self, key: String) -> String {
        let seen = self.0.entry(key.clone()).or_insert(0);
        *seen += 1;
        if *seen == 1 {
            key
        } else {
            format!("{key}#{seen}")
        }
    }
}

fn with_line(item: ReconciliationItem, line: &StatementLine) -> ReconciliationItem {
    ReconciliationItem {
        merchant_order_no: line.merchant_order_no.clone(),
        refund_no: line.refund_no.clone(),
        currency: line.currency.clone(),
        amount: line.amount,
        fee: line.fee,
        line: Some(to_json(&ChannelLine::from(line))),
        ..item
    }
}

fn ours_amount(d: &Difference) -> i64 {
    match (&d.refund, &d.payment) {
        (Some(r), _) => r.amount,
        (None, Some(p)) => p.amount,
        (None, None) => 0,
    }
}

/// A stored side of a finding.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("a finding serialises")
}

/// The run's row: its summary (what the API shows), and how many
/// differences are left for a person.
pub(super) fn outcome(
    settled: &Reconciliation,
    items: &[ReconciliationItem],
    time_zone: &str,
) -> RunOutcome {
    let count = |state: &str| items.iter().filter(|i| i.state == state).count();
    let open = items
        .iter()
        .filter(|i| i.state == "open" && i.verdict != "in_flight")
        .count();
    let mut differences: BTreeMap<String, u64> = BTreeMap::new();
    for d in &settled.differences {
        *differences.entry(d.kind.as_str().to_owned()).or_default() += 1;
    }
    let summary = RunSummary {
        lines: (settled.matched.len()
            + settled.in_flight.len()
            + settled
                .differences
                .iter()
                .filter(|d| d.line.is_some())
                .count()) as u64,
        matched: count("matched") as u64,
        settled: count("settled") as u64,
        in_flight: settled.in_flight.len() as u64,
        differences,
        currencies: settled
            .summaries
            .iter()
            .map(|(currency, s)| (currency.clone(), CurrencyTotals::from(&s.statement)))
            .collect(),
    };
    RunOutcome {
        status: "completed",
        failure: None,
        summary: to_json(&summary),
        open_differences: open as i64,
        time_zone: time_zone.to_owned(),
    }
}

/// A `reconciliation.discrepancy` webhook for each open difference the
/// day's earlier runs had not found (same key, same kind), to the tenant's
/// notify URL when it has one and signs its webhooks.
pub(super) fn new_discrepancy_webhooks(
    tenant: &Tenant,
    run: &ReconciliationRecord,
    items: &[ReconciliationItem],
    previous: &[ReconciliationItem],
    now: &str,
) -> Vec<OutboxMessage> {
    let (Some(url), Some(_)) = (&tenant.config.notify_url, &tenant.config.webhook_secret) else {
        return Vec::new();
    };
    let known: BTreeSet<(&str, &str)> = previous
        .iter()
        .filter(|i| i.state == "open")
        .map(|i| (i.item_key.as_str(), i.verdict.as_str()))
        .collect();
    items
        .iter()
        .filter(|i| i.state == "open" && i.verdict != "in_flight")
        .filter(|i| !known.contains(&(i.item_key.as_str(), i.verdict.as_str())))
        .map(|i| {
            let id = new_id("evt");
            let kind = EventKind::ReconciliationDiscrepancy;
            let data = Discrepancy {
                reconciliation_id: &run.id,
                channel: &run.channel_id,
                date: &run.business_day,
                difference: DifferenceView::from(i),
            };
            let payload = WebhookBody {
                id: &id,
                event_type: kind.as_str(),
                created_at: now.to_owned(),
                data: serde_json::to_value(data).expect("a discrepancy serialises"),
            }
            .to_json();
            OutboxMessage {
                id,
                tenant_id: run.tenant_id.clone(),
                payment_id: i.payment_id.clone(),
                event_type: kind.to_string(),
                url: url.clone(),
                payload,
                attempts: 0,
                retry_step: 0,
            }
        })
        .collect()
}

/// Differences found, by tenant, channel and kind (never order numbers).
pub(super) fn record_metrics(
    tenant: &Tenant,
    run: &ReconciliationRecord,
    items: &[ReconciliationItem],
) {
    for item in items
        .iter()
        .filter(|i| i.state == "open" && i.verdict != "in_flight")
    {
        metrics::counter!(
            "paycore_reconciliation_differences_total",
            "tenant" => tenant.config.id.to_string(),
            "channel" => run.channel_id.clone(),
            "kind" => item.verdict.clone()
        )
        .increment(1);
    }
}
