//! What a reconciliation shows of itself, in the API, in its webhooks and
//! as stored with its findings: the channel's line and paycore's record of
//! a difference, and the day's summary.

use crate::domain::{PaymentId, RefundId};
use crate::store::ReconciliationItem;
use paycore_core::reconcile::{KindTotals, OurPayment, OurRefund, StatementLine, StatementTotals};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A line of the channel's statement, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelLine {
    /// `payment`, `refund` or `reversal`.
    pub kind: String,
    pub merchant_order_no: String,
    pub refund_no: Option<String>,
    /// The channel's own number.
    pub channel_no: Option<String>,
    /// Minor units.
    pub amount: i64,
    /// The channel's fee in minor units: charged (+) or given back (−).
    pub fee: i64,
    pub currency: String,
    /// `succeeded`, `processing` or `failed`.
    pub status: String,
    /// When the channel completed it, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

impl From<&StatementLine> for ChannelLine {
    fn from(line: &StatementLine) -> Self {
        ChannelLine {
            kind: format!("{:?}", line.kind).to_lowercase(),
            merchant_order_no: line.merchant_order_no.clone(),
            refund_no: line.refund_no.clone(),
            channel_no: line.channel_no.clone(),
            amount: line.amount,
            fee: line.fee,
            currency: line.currency.clone(),
            status: format!("{:?}", line.status).to_lowercase(),
            at_ms: line.at_ms,
        }
    }
}

/// paycore's side of a difference, as it was when the run compared it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaycoreRecord {
    pub payment: Option<PaymentFacts>,
    pub refund: Option<RefundFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentFacts {
    #[schema(value_type = String)]
    pub id: PaymentId,
    pub merchant_order_no: String,
    pub channel_order_no: Option<String>,
    pub status: String,
    /// What the channel was asked for, minor units.
    pub amount: i64,
    pub currency: String,
    pub paid_ms: Option<i64>,
    pub cancelled_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundFacts {
    #[schema(value_type = String)]
    pub id: RefundId,
    pub merchant_refund_no: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub settled_ms: Option<i64>,
}

impl PaycoreRecord {
    pub fn of(payment: Option<&OurPayment>, refund: Option<&OurRefund>) -> Option<PaycoreRecord> {
        let payment = payment.map(|p| PaymentFacts {
            id: p.payment_id.clone(),
            merchant_order_no: p.merchant_order_no.clone(),
            channel_order_no: p.channel_order_no.clone(),
            status: p.status.as_str().to_owned(),
            amount: p.amount,
            currency: p.currency.code().to_owned(),
            paid_ms: p.paid_ms,
            cancelled_ms: p.cancelled_ms,
        });
        let refund = refund.map(|r| RefundFacts {
            id: r.refund_id.clone(),
            merchant_refund_no: r.merchant_refund_no.clone(),
            status: r.status.as_str().to_owned(),
            amount: r.amount,
            currency: r.currency.code().to_owned(),
            settled_ms: r.settled_ms,
        });
        (payment.is_some() || refund.is_some()).then_some(PaycoreRecord { payment, refund })
    }
}

/// A difference (or a line a query settled, or one still in flight) with
/// both sides as they were.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DifferenceView {
    /// `missing_at_paycore`, `missing_at_channel`, `amount_differs`,
    /// `status_differs`, `duplicate`, or `in_flight` (processing on both
    /// sides: run the day again later).
    pub kind: String,
    /// `open` (for a person), or `settled` (a query of the channel proved
    /// it, and paycore followed).
    pub state: String,
    pub merchant_order_no: String,
    pub refund_no: Option<String>,
    pub payment_id: Option<String>,
    pub refund_id: Option<String>,
    pub currency: String,
    /// The channel's amount, or paycore's when the channel has no line.
    pub amount: i64,
    pub fee: i64,
    /// The channel's line; null when the channel lists none.
    pub channel: Option<ChannelLine>,
    /// paycore's record; null when paycore has none.
    pub paycore: Option<PaycoreRecord>,
    pub note: Option<String>,
}

impl From<&ReconciliationItem> for DifferenceView {
    fn from(i: &ReconciliationItem) -> Self {
        DifferenceView {
            kind: i.verdict.clone(),
            state: i.state.clone(),
            merchant_order_no: i.merchant_order_no.clone(),
            refund_no: i.refund_no.clone(),
            payment_id: i.payment_id.as_ref().map(ToString::to_string),
            refund_id: i.refund_id.as_ref().map(ToString::to_string),
            currency: i.currency.clone(),
            amount: i.amount,
            fee: i.fee,
            channel: i.line.as_deref().and_then(|l| serde_json::from_str(l).ok()),
            paycore: i.ours.as_deref().and_then(|o| serde_json::from_str(o).ok()),
            note: i.note.clone(),
        }
    }
}

/// A day's counts and, per currency, the statement's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunSummary {
    /// The statement's lines.
    pub lines: u64,
    pub matched: u64,
    /// Differences a query of the channel settled.
    pub settled: u64,
    /// Processing on both sides.
    pub in_flight: u64,
    /// Open differences by kind.
    pub differences: BTreeMap<String, u64>,
    /// By ISO 4217 code.
    pub currencies: BTreeMap<String, CurrencyTotals>,
}

/// The statement's succeeded lines of one currency, minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CurrencyTotals {
    pub payments: KindFigures,
    pub refunds: KindFigures,
    pub reversals: KindFigures,
    /// What payments took.
    pub gross: i64,
    /// What refunds and reversals gave back.
    pub refunded: i64,
    /// The channel's fees, net of those given back.
    pub fees: i64,
    /// gross − refunded − fees: what the channel settles.
    pub net: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KindFigures {
    pub count: u64,
    pub amount: i64,
    pub fee: i64,
}

impl From<&KindTotals> for KindFigures {
    fn from(k: &KindTotals) -> Self {
        KindFigures {
            count: k.count,
            amount: k.amount,
            fee: k.fee,
        }
    }
}

impl From<&StatementTotals> for CurrencyTotals {
    fn from(t: &StatementTotals) -> Self {
        CurrencyTotals {
            payments: KindFigures::from(&t.payments),
            refunds: KindFigures::from(&t.refunds),
            reversals: KindFigures::from(&t.reversals),
            gross: t.gross,
            refunded: t.refunded,
            fees: t.fees,
            net: t.net,
        }
    }
}

/// The `data` of a `reconciliation.discrepancy` webhook.
#[derive(Debug, Serialize)]
pub struct Discrepancy<'a> {
    pub reconciliation_id: &'a str,
    pub channel: &'a str,
    pub date: &'a str,
    pub difference: DifferenceView,
}
