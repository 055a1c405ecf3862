//! Notifications to a payment's or refund's `notify_url`: a form POST of
//! `resp_code`, `resp_desc` (gateway-level), `sign` and `resp_data` (JSON
//! text whose nested structures are objects and `notify_type` a number),
//! signed over the `resp_data` text as sent. Retried until the merchant
//! answers HTTP 200 with exactly `RECV_ORD_ID_<req_seq_id>`; redirects are
//! not followed.

use std::sync::atomic::Ordering;
use std::time::Duration;

use paycore_plugin_sdk::params::form_urlencode;
use serde_json::{Map, Value};

use super::wire::{self, Data, codes};
use super::{ACKNOWLEDGEMENT_PREFIX, Sim};
use crate::control::Channel;
use crate::orders::{OrderState, Orders, Tweak};

/// One notification sent, and how the merchant answered it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The notified payment's or refund's own `req_seq_id`.
    pub req_seq_id: String,
    /// `D_MICROPAY`, `D_NATIVE` or `TRANS_REFUND`.
    pub trans_type: String,
    pub trans_stat: String,
    /// The merchant's HTTP status; 0 when it did not answer in time.
    pub status: u16,
    pub answer: String,
    /// HTTP 200 and exactly `RECV_ORD_ID_<req_seq_id>`.
    pub acknowledged: bool,
    /// The form body as sent, and the two fields that matter in it.
    pub body: String,
    pub resp_data: String,
    pub sign: String,
}

/// A notification before it is signed.
pub(super) struct Notice {
    url: String,
    req_seq_id: String,
    trans_type: String,
    trans_stat: String,
    resp_data: Map<String, Value>,
}

/// `fields` as `resp_data`: strings, but `dc_response` an object and
/// `notify_type` a number (1: the trade's result), as Huifu sends them.
fn resp_data(fields: Data) -> Map<String, Value> {
    let mut object: Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if let Some(Value::String(text)) = object.get("dc_response")
        && let Ok(parsed) = serde_json::from_str::<Value>(text)
    {
        object.insert("dc_response".into(), parsed);
    }
    object.insert("notify_type".into(), Value::from(1));
    object
}

fn text(map: &Map<String, Value>, key: &str) -> String {
    map.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl Sim {
    /// The payment's notification as the order stands, claiming `claimed`
    /// fen instead of its amount if given. `None` without a `notify_url`.
    pub(super) fn payment_notice(&self, req_seq_id: &str, claimed: Option<i64>) -> Option<Notice> {
        let order = self.orders.get(req_seq_id)?;
        let url = order.notify_url.clone()?;
        let payment = self.payment_of(&order);
        let mut fields = self.result_fields(&order, &payment, claimed);
        // Notifications name these differently from answers.
        fields.remove("delay_acct_flag");
        if let Some(why) = fields.remove("bank_desc") {
            fields.insert("bank_message".into(), why);
        }
        let code = match order.state {
            OrderState::Paid => codes::SUCCESS,
            OrderState::Waiting => codes::PROCESSING,
            OrderState::Closed | OrderState::Cancelled => payment.failure.unwrap_or(codes::FAILED),
        };
        let trans_type = payment.trade_type.name();
        for (key, value) in [
            ("resp_code", code.code),
            ("resp_desc", code.desc),
            ("huifu_id", self.config.huifu_id.as_str()),
            ("req_seq_id", req_seq_id),
            ("req_date", payment.req_date.as_str()),
            ("hf_seq_id", order.trade_no.as_str()),
            ("trans_type", trans_type),
            ("is_div", "0"),
            ("is_delay_acct", "0"),
        ] {
            fields.insert(key.into(), value.into());
        }
        if let Some(remark) = &payment.remark {
            fields.insert("remark".into(), remark.clone());
        }
        let resp_data = resp_data(fields);
        Some(Notice {
            url,
            req_seq_id: req_seq_id.to_owned(),
            trans_type: trans_type.to_owned(),
            trans_stat: text(&resp_data, "trans_stat"),
            resp_data,
        })
    }

    /// A refund's notification: accepted means done here.
    pub(super) fn refund_notice(&self, refund_req_seq_id: &str) -> Option<Notice> {
        let refund = self.refund_record(refund_req_seq_id)?;
        let url = refund.notify_url.clone()?;
        let order = self.orders.get(&refund.payment)?;
        let payment = self.payment_of(&order);
        // What had been refunded once this refund was.
        let total: i64 = order
            .refunds
            .iter()
            .scan(false, |past, r| {
                let counted = !*past;
                *past = *past || r.no == refund.req_seq_id;
                counted.then_some(r.amount)
            })
            .sum();
        let mut fields = self.refund_fields(&refund, &payment);
        for (key, value) in [
            ("resp_code", codes::SUCCESS.code),
            ("resp_desc", codes::SUCCESS.desc),
            ("huifu_id", self.config.huifu_id.as_str()),
            ("req_date", refund.req_date.as_str()),
            ("req_seq_id", refund.req_seq_id.as_str()),
            ("hf_seq_id", refund.hf_seq_id.as_str()),
            ("trans_type", "TRANS_REFUND"),
            ("total_ref_amt", &wire::yuan(total)),
        ] {
            fields.insert(key.into(), value.into());
        }
        let resp_data = resp_data(fields);
        Some(Notice {
            url,
            req_seq_id: refund.req_seq_id.clone(),
            trans_type: "TRANS_REFUND".into(),
            trans_stat: text(&resp_data, "trans_stat"),
            resp_data,
        })
    }

    /// Sends `notice` after `notify_delay`, then again after each of
    /// `notify_retry_delays` until acknowledged — if the gateway notifies
    /// on its own at all.
    pub(super) fn notify_later(&self, notice: Option<Notice>) {
        let withheld = self.withhold_notifications.load(Ordering::SeqCst);
        let Some(notice) = notice.filter(|_| self.config.notify_automatically && !withheld) else {
            return;
        };
        let sim = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(sim.config.notify_delay).await;
            let mut retries = sim.config.notify_retry_delays.clone().into_iter();
            loop {
                if sim.deliver(&notice, None).await.acknowledged {
                    break;
                }
                let Some(wait) = retries.next() else {
                    break;
                };
                tokio::time::sleep(wait).await;
            }
        });
    }

    /// Signs (with `key` instead of Huifu's, if given) and POSTs `notice`
    /// once; records and returns the delivery.
    async fn deliver(&self, notice: &Notice, key: Option<&str>) -> Delivery {
        let resp_data = Value::Object(notice.resp_data.clone()).to_string();
        let sign = wire::sign(key.unwrap_or(&self.config.huifu_private_key), &resp_data);
        let body = form_urlencode(&[
            // Gateway-level, as captured from production; merchants ignore them.
            ("resp_code", "00000000"),
            ("resp_desc", "交易成功[000]"),
            ("sign", sign.as_str()),
            ("resp_data", resp_data.as_str()),
        ]);
        let sent = notify_client(self.config.notify_timeout)
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
        let delivery = Delivery {
            req_seq_id: notice.req_seq_id.clone(),
            trans_type: notice.trans_type.clone(),
            trans_stat: notice.trans_stat.clone(),
            status,
            acknowledged: status == 200
                && answer == format!("{ACKNOWLEDGEMENT_PREFIX}{}", notice.req_seq_id),
            answer,
            body,
            resp_data,
            sign,
        };
        self.ledger
            .lock()
            .unwrap()
            .deliveries
            .push(delivery.clone());
        delivery
    }
}

/// Loopback, bounded by Huifu's wait, and not following redirects (Huifu
/// does not).
fn notify_client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

impl Channel for Sim {
    fn orders(&self) -> &Orders {
        &self.orders
    }

    /// The payment's notification as the order stands, sent once; a bad
    /// signature is made with the stranger key. An order without a
    /// `notify_url` cannot be notified: (0, why).
    async fn notify(&self, out_trade_no: &str, tweak: Tweak) -> (u16, String) {
        let Some(notice) = self.payment_notice(out_trade_no, tweak.amount) else {
            return (0, format!("no order {out_trade_no} with a notify_url"));
        };
        let key = tweak
            .bad_signature
            .then(|| self.config.stranger_private_key.clone());
        let delivery = self.deliver(&notice, key.as_deref()).await;
        (delivery.status, delivery.answer)
    }
}
