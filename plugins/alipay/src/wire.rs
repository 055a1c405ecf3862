//! Alipay's `biz_content` shapes and answer bodies, and the conversions
//! between them and paycore's types: yuan strings, order-number rules,
//! trade statuses.

use paycore_plugin_sdk::money;
use paycore_plugin_sdk::types::{
    ChannelError, Failure, GoodsItem, PaymentRef, PaymentStatus, Scene,
};
use serde::{Deserialize, Serialize};

/// Alipay takes only yuan.
pub const CURRENCY: &str = "CNY";

/// `out_trade_no` and `out_request_no`: at most 64 letters, digits or `_`.
pub fn check_order_no(field: &str, value: &str) -> Result<(), ChannelError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ChannelError::InvalidRequest(Failure::new(
            "invalid_order_no",
            format!("Alipay's {field} must be 1 to 64 letters, digits or `_`, got `{value}`"),
        )))
    }
}

pub fn check_currency(currency: &str) -> Result<(), ChannelError> {
    if currency == CURRENCY {
        Ok(())
    } else {
        Err(ChannelError::InvalidRequest(Failure::new(
            "unsupported_currency",
            format!("Alipay takes CNY, not {currency}"),
        )))
    }
}

/// Fen to a yuan string with two decimals: 8888 is `"88.88"`.
pub fn yuan(fen: i64) -> Result<String, ChannelError> {
    money::to_major_string(fen, CURRENCY)
        .map_err(|e| ChannelError::InvalidRequest(Failure::new("invalid_amount", e.to_string())))
}

/// A yuan string from Alipay to fen. A verified answer we cannot read still
/// answers a request Alipay may have acted on.
pub fn fen(yuan: &str) -> Result<i64, ChannelError> {
    money::parse_major(yuan, CURRENCY).map_err(|e| {
        ChannelError::OutcomeUnknown(Failure::new(
            "malformed_answer",
            format!("unreadable amount from Alipay: {e}"),
        ))
    })
}

#[derive(Serialize)]
pub struct Goods {
    goods_id: String,
    goods_name: String,
    quantity: u32,
    /// Unit price in yuan.
    price: String,
}

pub fn goods(items: &[GoodsItem]) -> Result<Vec<Goods>, ChannelError> {
    items
        .iter()
        .map(|g| {
            Ok(Goods {
                goods_id: g.id.clone(),
                goods_name: g.name.clone(),
                quantity: g.quantity,
                price: yuan(g.unit_price)?,
            })
        })
        .collect()
}

/// What every trade-creating call sends.
#[derive(Serialize)]
pub struct Trade {
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub goods_detail: Vec<Goods>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    /// `"15m"`: how long the payer has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_express: Option<String>,
    // alipay.trade.pay
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    // alipay.trade.create (JSAPI)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_open_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op_app_id: Option<String>,
}

/// Seconds to Alipay's `timeout_express` in whole minutes, rounded up (1m–15d).
pub fn timeout_express(seconds: Option<u32>) -> Option<String> {
    seconds.map(|s| format!("{}m", s.div_ceil(60).clamp(1, 15 * 24 * 60)))
}

/// Which trade a query, close, cancel or refund is about: Alipay's own
/// number when we know it, else ours.
#[derive(Serialize)]
pub struct TradeKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
}

impl TradeKey {
    /// A stored payment's trade: by Alipay's number once known, else ours.
    pub fn of(payment: &PaymentRef) -> Self {
        Self::new(
            &payment.merchant_order_no,
            payment.channel_order_no.as_deref(),
        )
    }

    pub fn new(merchant_order_no: &str, trade_no: Option<&str>) -> Self {
        match trade_no {
            Some(no) => TradeKey {
                out_trade_no: None,
                trade_no: Some(no.to_owned()),
            },
            None => Self::ours(merchant_order_no),
        }
    }

    pub fn ours(merchant_order_no: &str) -> Self {
        TradeKey {
            out_trade_no: Some(merchant_order_no.to_owned()),
            trade_no: None,
        }
    }
}

#[derive(Serialize)]
pub struct RefundBody {
    #[serde(flatten)]
    pub trade: TradeKey,
    pub refund_amount: String,
    pub out_request_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
}

#[derive(Serialize)]
pub struct RefundQueryBody {
    #[serde(flatten)]
    pub trade: TradeKey,
    pub out_request_no: String,
}

/// `alipay.trade.pay`, `.query` and `.create` answers.
#[derive(Deserialize, Debug)]
pub struct TradeAnswer {
    pub trade_no: Option<String>,
    pub total_amount: Option<String>,
    pub trade_status: Option<String>,
    // alipay.trade.precreate
    pub qr_code: Option<String>,
    // alipay.trade.cancel
    pub retry_flag: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct RefundAnswer {
    pub trade_no: Option<String>,
    /// `Y` when this call moved money; `N` for a repeated `out_request_no`.
    pub fund_change: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct RefundQueryAnswer {
    pub out_request_no: Option<String>,
    pub refund_amount: Option<String>,
    pub refund_status: Option<String>,
}

/// Alipay `trade_status` → paycore status. `WAIT_BUYER_PAY` is the payer
/// entering a password for a code they showed (processing), or a payer who
/// has not paid yet (pending).
pub fn trade_status(status: &str, scene: Scene) -> Option<PaymentStatus> {
    Some(match status {
        "WAIT_BUYER_PAY" if takes_code(scene) => PaymentStatus::Processing,
        "WAIT_BUYER_PAY" => PaymentStatus::Pending,
        "TRADE_SUCCESS" | "TRADE_FINISHED" => PaymentStatus::Succeeded,
        // Unpaid and timed out, cancelled, or paid and refunded in full.
        "TRADE_CLOSED" => PaymentStatus::Closed,
        _ => return None,
    })
}

pub fn takes_code(scene: Scene) -> bool {
    matches!(scene, Scene::Barcode | Scene::Face)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_follow_alipays_rules() {
        assert!(check_order_no("out_trade_no", "A2026_11_25_001").is_ok());
        assert!(check_order_no("out_trade_no", &"9".repeat(64)).is_ok());
        for bad in ["", "A-1", "A 1", "订单1", &"9".repeat(65)] {
            let err = check_order_no("out_trade_no", bad).unwrap_err();
            assert!(
                matches!(err, ChannelError::InvalidRequest(ref f) if f.code == "invalid_order_no"),
                "{bad}"
            );
        }
    }

    #[test]
    fn amounts_are_yuan_with_two_decimals_both_ways() {
        assert_eq!(yuan(8888).unwrap(), "88.88");
        assert_eq!(yuan(1).unwrap(), "0.01");
        assert_eq!(yuan(100).unwrap(), "1.00");
        assert_eq!(fen("88.88").unwrap(), 8888);
        assert_eq!(fen("0.1").unwrap(), 10);
        assert!(fen("88.888").is_err());
        assert!(fen("-1.00").is_err());
    }

    #[test]
    fn timeout_express_rounds_up_to_minutes() {
        assert_eq!(timeout_express(None), None);
        assert_eq!(timeout_express(Some(1)).as_deref(), Some("1m"));
        assert_eq!(timeout_express(Some(900)).as_deref(), Some("15m"));
        assert_eq!(timeout_express(Some(901)).as_deref(), Some("16m"));
    }

    #[test]
    fn trade_statuses_map_by_scene() {
        use PaymentStatus::*;
        let table = [
            ("WAIT_BUYER_PAY", Scene::Barcode, Some(Processing)),
            ("WAIT_BUYER_PAY", Scene::Face, Some(Processing)),
            ("WAIT_BUYER_PAY", Scene::Qrcode, Some(Pending)),
            ("TRADE_SUCCESS", Scene::Barcode, Some(Succeeded)),
            ("TRADE_FINISHED", Scene::Web, Some(Succeeded)),
            ("TRADE_CLOSED", Scene::Qrcode, Some(Closed)),
            ("SOMETHING_NEW", Scene::Qrcode, None),
        ];
        for (status, scene, expected) in table {
            assert_eq!(trade_status(status, scene), expected, "{status} {scene:?}");
        }
    }
}
