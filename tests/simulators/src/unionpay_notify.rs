//! Notifications to a transaction's `backUrl`: form-urlencoded, the fields
//! of a query answer with `respCode`, signed and carrying `signPubKeyCert`
//! like answers; retried while the merchant does not answer HTTP 200.

use paycore_plugin_sdk::params::form_urlencode;

use super::checks::set;
use super::trades::{consume_outcome, result_fields};
use super::{Fields, Kind, Sim, codes};
use crate::control::Channel;
use crate::orders::{Orders, Tweak};
use crate::server::client;

/// One notification sent, and how the merchant answered it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The notified transaction's `orderId` (a refund's own number).
    pub order_id: String,
    pub txn_type: String,
    /// The merchant's HTTP status; 0 when it did not answer at all.
    pub status: u16,
    pub answer: String,
    /// The form body as sent.
    pub body: String,
}

/// A notification before it is signed.
pub(super) struct Notice {
    url: String,
    order_id: String,
    txn_type: String,
    fields: Fields,
}

impl Sim {
    /// What every notification says first: the envelope and the merchant.
    fn notice_envelope(&self) -> Fields {
        [
            ("version", "5.1.0"),
            ("encoding", "UTF-8"),
            ("signMethod", "01"),
            ("bizType", "000000"),
            ("accessType", "0"),
            ("merId", self.config.mer_id.as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// The consume's notification as the order stands, claiming
    /// `claimed_amount` instead of its amount if given. `None` without a
    /// `backUrl`.
    pub(super) fn consume_notice(
        &self,
        order_id: &str,
        claimed_amount: Option<i64>,
    ) -> Option<Notice> {
        let order = self.orders.get(order_id)?;
        let url = order.notify_url.clone()?;
        let txn = self.consume_of(&order);
        let outcome = consume_outcome(&order, &txn);
        let mut fields = self.notice_envelope();
        fields.extend(result_fields(
            &txn,
            claimed_amount.unwrap_or(order.amount),
            outcome,
        ));
        set(&mut fields, "respCode", outcome.code);
        set(&mut fields, "respMsg", outcome.msg);
        Some(Notice {
            url,
            order_id: order_id.to_owned(),
            txn_type: Kind::Consume.txn_type().to_owned(),
            fields,
        })
    }

    /// A refund's or revoke's notification: accepted means done here.
    pub(super) fn follow_up_notice(&self, order_id: &str) -> Option<Notice> {
        let txn = self.ledger.lock().unwrap().txns.get(order_id).cloned()?;
        let url = txn.back_url.clone()?;
        let mut fields = self.notice_envelope();
        fields.extend(result_fields(&txn, txn.amount, codes::SUCCESS));
        set(&mut fields, "respCode", codes::SUCCESS.code);
        set(&mut fields, "respMsg", codes::SUCCESS.msg);
        Some(Notice {
            url,
            order_id: order_id.to_owned(),
            txn_type: txn.kind.txn_type().to_owned(),
            fields,
        })
    }

    /// A reversal's notification (txnType 99), naming the original consume.
    pub(super) fn reversal_notice(&self, order_id: &str, url: String) -> Option<Notice> {
        let order = self.orders.get(order_id)?;
        let consume = self.consume_of(&order);
        let mut fields = self.notice_envelope();
        fields.extend([
            ("txnType".to_owned(), "99".to_owned()),
            ("txnSubType".to_owned(), "01".to_owned()),
            ("orderId".to_owned(), order_id.to_owned()),
            ("txnTime".to_owned(), consume.txn_time.clone()),
            ("txnAmt".to_owned(), order.amount.to_string()),
            ("currencyCode".to_owned(), "156".to_owned()),
            (
                "queryId".to_owned(),
                consume.reversal_query_id.clone().unwrap_or_default(),
            ),
            ("origQryId".to_owned(), consume.query_id.clone()),
            ("traceNo".to_owned(), consume.trace_no.clone()),
            ("traceTime".to_owned(), consume.trace_time.clone()),
            ("respCode".to_owned(), codes::SUCCESS.code.to_owned()),
            ("respMsg".to_owned(), codes::SUCCESS.msg.to_owned()),
        ]);
        Some(Notice {
            url,
            order_id: order_id.to_owned(),
            txn_type: "99".to_owned(),
            fields,
        })
    }

    /// Sends `notice` after `notify_delay`, then again after each of
    /// `notify_retry_delays` until the merchant answers 200 — if the gateway
    /// notifies on its own at all.
    pub(super) fn notify_later(&self, notice: Option<Notice>) {
        let withheld = self
            .withhold_notifications
            .load(std::sync::atomic::Ordering::SeqCst);
        let Some(notice) = notice.filter(|_| self.config.notify_automatically && !withheld) else {
            return;
        };
        let sim = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(sim.config.notify_delay).await;
            let mut retries = sim.config.notify_retry_delays.clone().into_iter();
            loop {
                let (status, _) = sim.deliver(&notice, None).await;
                if status == 200 {
                    break;
                }
                let Some(wait) = retries.next() else {
                    break;
                };
                tokio::time::sleep(wait).await;
            }
        });
    }

    /// Signs (with `key` instead of the signing key, if given) and POSTs
    /// `notice` once; records and returns the merchant's (status, body).
    async fn deliver(&self, notice: &Notice, key: Option<&str>) -> (u16, String) {
        let body = form_urlencode(&self.signed(notice.fields.clone(), false, key));
        let sent = client()
            .post(&notice.url)
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .body(body.clone())
            .send()
            .await;
        let (status, answer) = match sent {
            Ok(response) => (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            ),
            Err(error) => (0, error.to_string()),
        };
        self.ledger.lock().unwrap().deliveries.push(Delivery {
            order_id: notice.order_id.clone(),
            txn_type: notice.txn_type.clone(),
            status,
            answer: answer.clone(),
            body,
        });
        (status, answer)
    }
}

impl Channel for Sim {
    fn orders(&self) -> &Orders {
        &self.orders
    }

    /// The consume's notification as the order stands (`respCode` 00 once
    /// paid), sent once; a bad signature is made with the stranger CA's key.
    async fn notify(&self, out_trade_no: &str, tweak: Tweak) -> (u16, String) {
        let notice = self
            .consume_notice(out_trade_no, tweak.amount)
            .expect("a known order with a backUrl");
        let key = tweak
            .bad_signature
            .then(|| self.authority.stranger_key().to_owned());
        self.deliver(&notice, key.as_deref()).await
    }
}
