//! A refund (扫码交易退款) of an e-CNY payment, for paycore's refunds and for
//! the cancel of a paid barcode payment: what it sends — e-CNY refunds need
//! `digital_currency_data.refund_desc` — and what its answer means.

use paycore_plugin_sdk::types::{ChannelError, RefundResult, RefundStatus};

use crate::canon::{Data, nested};
use crate::codes::{self, Class};
use crate::gateway::{Endpoint, Gateway};
use crate::wire;

/// Said when paycore is given no reason: Huifu refuses an e-CNY refund
/// without one (`21000000` 数字货币交易退款原因必填).
pub const DEFAULT_REASON: &str = "refund";
/// The refund `remark`'s length, the shortest refund text Huifu states:
/// the reason is cut to it, as its own limit is not published.
const REASON_MAX_CHARS: usize = 84;

/// One refund as Huifu identifies it.
pub struct RefundOrder<'a> {
    /// The refund's own date and number.
    pub req_date: &'a str,
    pub req_seq_id: &'a str,
    /// Fen to give back.
    pub amount: i64,
    /// The payment's date and number, and Huifu's number for it if known.
    pub org_req_date: &'a str,
    pub org_req_seq_id: &'a str,
    pub org_hf_seq_id: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// Sends `order` and reads the answer.
pub fn send(gateway: &Gateway<'_>, order: &RefundOrder<'_>) -> Result<RefundResult, ChannelError> {
    let mut data = Data::new();
    data.set("req_date", order.req_date);
    data.set("req_seq_id", order.req_seq_id);
    data.set("huifu_id", gateway.huifu_id);
    data.set("ord_amt", &wire::yuan(order.amount)?);
    data.set("org_req_date", order.org_req_date);
    data.set("org_req_seq_id", order.org_req_seq_id);
    if let Some(hf_seq_id) = order.org_hf_seq_id {
        data.set("org_hf_seq_id", hf_seq_id);
    }
    let reason = order
        .reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REASON);
    let reason = wire::truncate(reason, REASON_MAX_CHARS);
    data.set(
        "digital_currency_data",
        &nested(&[("refund_desc", reason.as_str())]),
    );
    data.set("notify_url", gateway.notify_url);
    let answer = gateway.call(Endpoint::Refund, &data)?;
    let stat = answer.trans_stat();
    match codes::class(answer.resp_code()) {
        Class::Done => {
            answer.check_amount("ord_amt", order.amount)?;
            let hf_seq_id = answer.get("hf_seq_id").map(str::to_owned);
            let (status, amount, failure) = match stat {
                Some("S") => (RefundStatus::Succeeded, Some(answer.amount("ord_amt")?), None),
                // Accepted: the money goes back by notification or query.
                Some("P" | "I") | None => (RefundStatus::Processing, None, None),
                Some("F") => (
                    RefundStatus::Failed,
                    None,
                    Some(answer.failure("refund_failed", "the refund failed at Huifu")),
                ),
                Some(other) => {
                    return Err(answer.malformed(&format!("unknown trans_stat `{other}`")));
                }
            };
            Ok(RefundResult {
                status,
                channel_refund_no: hf_seq_id,
                amount,
                failure,
            })
        }
        // A refusal that says the refund is under way contradicts itself.
        Class::Refused if matches!(stat, Some("S" | "P" | "I")) => Err(answer.unknown(
            "contradictory_answer",
            "Huifu refused the refund but states it under way; query the refund",
        )),
        Class::Refused => Err(answer.refused()),
        Class::Unknown if answer.resp_code() == codes::DUPLICATE => Err(answer.unknown(
            codes::DUPLICATE_REQUEST,
            "Huifu has this refund number already: the first request's outcome counts; query the refund",
        )),
        Class::Unknown => Err(answer.unknown(
            "in_progress",
            "Huifu has not settled the refund; query it",
        )),
    }
}
