//! The `detail` of each event the state machine records, as types: the
//! shapes the events API shows, written in one place.

use super::Cause;
use serde::{Serialize, Serializer};
use serde_json::Value;

pub(super) fn detail(d: &impl Serialize) -> Value {
    serde_json::to_value(d).expect("event details are plain data")
}

impl Serialize for Cause {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Serialize)]
pub(super) struct Empty {}

#[derive(Serialize)]
pub(super) struct Caused {
    pub cause: Cause,
}

#[derive(Serialize)]
pub(super) struct Note<'a> {
    pub cause: Cause,
    pub note: &'a str,
}

#[derive(Serialize)]
pub(super) struct Refused<'a> {
    pub cause: Cause,
    pub reason: &'a str,
}

#[derive(Serialize)]
pub(super) struct Updated<'a> {
    pub cause: Cause,
    pub channel_order_no: Option<&'a str>,
}

#[derive(Serialize)]
pub(super) struct Created<'a> {
    pub channel: &'a str,
    /// `name@version`.
    pub plugin: &'a str,
}

#[derive(Serialize)]
pub(super) struct CreatedOrder<'a> {
    /// The external tender's channel, if the order has one.
    pub channel: Option<&'a str>,
    pub plugin: Option<String>,
    pub tenders: usize,
}

#[derive(Serialize)]
pub(super) struct CreatedForCheckout {
    pub checkout: bool,
}

#[derive(Serialize)]
pub(super) struct TendersChosen<'a> {
    pub tenders: usize,
    /// What the wallet is asked for: the rest, after coupons and cards.
    pub channel_amount: i64,
    #[serde(flatten)]
    pub wallet: Option<WalletChosen<'a>>,
}

#[derive(Serialize)]
pub(super) struct WalletChosen<'a> {
    pub wallet: &'a str,
    pub scene: crate::domain::Scene,
    pub channel: &'a str,
    pub plugin: &'a str,
}

#[derive(Serialize)]
pub(super) struct Switched<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub plugin: &'a str,
}

#[derive(Serialize)]
pub(super) struct CancelEnded<'a> {
    pub reversed: bool,
    pub reason: &'a str,
}

#[derive(Serialize)]
pub(super) struct RefundCreated<'a> {
    pub payment_id: &'a str,
    pub amount: i64,
}
