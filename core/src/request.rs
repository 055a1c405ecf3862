//! Validated requests: parse, don't validate. Everything downstream takes
//! these types and can rely on their invariants.

use crate::domain::Scene;
use crate::money::Currency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub mod tenders;
pub use tenders::{Tender, TenderBody};

/// A problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The field is absent (as opposed to present but unacceptable).
    pub missing: bool,
}

fn bad(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
        missing: false,
    }
}

fn missing(field: &str) -> FieldError {
    FieldError {
        field: field.into(),
        message: "is required".into(),
        missing: true,
    }
}

/// The create-payment body as clients send it; everything optional so that
/// a missing field is reported by name rather than by serde's wording. The
/// schema states what `validate` requires.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PaymentBody {
    /// The merchant's order number, unique per tenant (the idempotency key of the order).
    #[schema(required = true, value_type = String, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.:-]{1,64}$", example = "A20261125001")]
    pub merchant_order_no: Option<String>,
    /// Integer minor units of `currency` (fen for CNY, cents for USD, yen for JPY).
    #[schema(required = true, value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64, example = 8888)]
    pub amount: Option<i64>,
    /// ISO 4217 code.
    #[schema(required = true, value_type = String, pattern = "^[A-Z]{3}$", example = "CNY")]
    pub currency: Option<String>,
    #[schema(required = true, value_type = crate::domain::Scene)]
    pub scene: Option<String>,
    /// The payer's payment code; required for `barcode` and `face`.
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9]{6,128}$", example = "134567890124")]
    pub auth_code: Option<String>,
    /// `alipay`, `wechat`, `unionpay`, `sandbox`, …; inferred from `auth_code` when absent.
    #[schema(value_type = Option<String>, pattern = "^[a-z0-9_]{1,32}$", example = "sandbox")]
    pub wallet: Option<String>,
    #[schema(max_length = 256)]
    pub subject: Option<String>,
    /// Required for `jsapi`: `open_id` (with `app_id`) or `buyer_id`.
    pub payer: Option<Payer>,
    pub goods: Option<Vec<GoodsItem>>,
    #[schema(max_length = 64)]
    pub receipt_no: Option<String>,
    #[schema(max_length = 64)]
    pub store_id: Option<String>,
    #[schema(max_length = 64)]
    pub terminal_id: Option<String>,
    /// The payer's IPv4 or IPv6 address, as some channels require.
    #[schema(max_length = 64, example = "203.0.113.7")]
    pub client_ip: Option<String>,
    /// Seconds the payer has to pay.
    #[schema(minimum = 60, maximum = 604800)]
    pub expires_in: Option<u32>,
    /// Where to send this payment's webhooks (else the tenant's default).
    pub notify_url: Option<String>,
    /// Scene `checkout`: where paycore's page sends the payer once the
    /// payment is paid, failed or expired.
    #[schema(
        max_length = 2048,
        example = "https://shop.example/orders/A20261125001"
    )]
    pub return_url: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
    /// A combined order (组合支付): coupons, cards and at most one external
    /// wallet payment, in order, coming to `amount` together. The order then
    /// names no `scene`, `auth_code` or `wallet` of its own: its tenders do.
    #[schema(max_items = 8)]
    pub tenders: Option<Vec<TenderBody>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Payer {
    pub app_id: Option<String>,
    pub open_id: Option<String>,
    pub buyer_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GoodsItem {
    pub id: String,
    pub name: String,
    #[schema(minimum = 1)]
    pub quantity: u32,
    /// Minor units.
    #[schema(minimum = 0)]
    pub unit_price: i64,
    /// Minor units off the line total.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub discount: i64,
}

/// A payment request that passed every check. Serialised as stored, and its
/// hash is what idempotent replays are compared by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    pub merchant_order_no: String,
    pub amount: i64,
    pub currency: Currency,
    pub scene: Scene,
    pub auth_code: Option<String>,
    pub wallet: Option<String>,
    pub subject: Option<String>,
    pub payer: Option<Payer>,
    pub goods: Vec<GoodsItem>,
    pub receipt_no: Option<String>,
    pub store_id: Option<String>,
    pub terminal_id: Option<String>,
    pub client_ip: Option<String>,
    pub expires_in: Option<u32>,
    pub notify_url: Option<String>,
    // Skipped when absent so that requests stored before the field existed
    // keep their fingerprints (replays compare them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// A combined order's tenders; empty for a single-tender payment (and
    /// then not serialised, so single-tender fingerprints stay as they were).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenders: Vec<Tender>,
}

impl PaymentRequest {
    /// The external tender of a combined order, if it has one.
    pub fn external_tender(&self) -> Option<(usize, &Tender)> {
        self.tenders
            .iter()
            .enumerate()
            .find(|(_, t)| !t.is_closed_loop())
    }

    pub fn is_combined(&self) -> bool {
        !self.tenders.is_empty()
    }
}

/// A wallet's name: lower-case letters, digits and `_`, 1-32 of them.
fn wallet_name(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= 32
        && w.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The largest amount accepted, in minor units: far above any real payment,
/// far below where sums of refunds could overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

fn order_no(field: &str, v: Option<String>) -> Result<String, FieldError> {
    let v = v.ok_or_else(|| missing(field))?;
    if v.is_empty() || v.len() > 64 {
        return Err(bad(field, "must be 1-64 characters"));
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
    {
        return Err(bad(
            field,
            "may contain only letters, digits, '_', '-', '.' and ':'",
        ));
    }
    Ok(v)
}

/// `v`, refused (naming `field`) when longer than `max` characters.
pub fn short_text(
    field: &str,
    v: Option<String>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match v {
        Some(s) if s.chars().count() > max => {
            Err(bad(field, format!("must be at most {max} characters")))
        }
        Some(s) if s.chars().any(char::is_control) => {
            Err(bad(field, "must not contain control characters"))
        }
        other => Ok(other),
    }
}

pub fn amount(field: &str, v: Option<i64>) -> Result<i64, FieldError> {
    match v {
        None => Err(missing(field)),
        Some(a) if a <= 0 => Err(bad(
            field,
            "must be a positive integer number of minor units",
        )),
        Some(a) if a > MAX_AMOUNT => Err(bad(field, format!("must be at most {MAX_AMOUNT}"))),
        Some(a) => Ok(a),
    }
}

pub fn currency(field: &str, v: Option<String>) -> Result<Currency, FieldError> {
    let v = v.ok_or_else(|| missing(field))?;
    Currency::parse(&v).map_err(|unknown| bad(field, unknown.to_string()))
}

/// An IP address, kept as the client wrote it (replays compare requests
/// as written).
fn ip_address(field: &str, v: Option<String>) -> Result<Option<String>, FieldError> {
    match v {
        Some(ip) if ip.parse::<std::net::IpAddr>().is_err() => {
            Err(bad(field, "must be an IPv4 or IPv6 address"))
        }
        other => Ok(other),
    }
}

pub fn http_url(field: &str, v: Option<String>) -> Result<Option<String>, FieldError> {
    match v {
        None => Ok(None),
        Some(u) => match url::Url::parse(&u) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && u.len() <= 2048 => {
                Ok(Some(u))
            }
            _ => Err(bad(
                field,
                "must be an http:// or https:// URL of at most 2048 characters",
            )),
        },
    }
}

impl PaymentBody {
    pub fn validate(mut self) -> Result<PaymentRequest, FieldError> {
        let merchant_order_no = order_no("merchant_order_no", self.merchant_order_no.take())?;
        let amount = amount("amount", self.amount)?;
        let currency = currency("currency", self.currency.take())?;
        let (scene, tenders) = match self.tenders.take() {
            None => {
                let scene: Scene = self
                    .scene
                    .take()
                    .ok_or_else(|| missing("scene"))?
                    .parse()
                    .map_err(|e: String| bad("scene", e))?;
                (scene, Vec::new())
            }
            Some(bodies) => {
                for (name, present) in [
                    ("scene", self.scene.is_some()),
                    ("auth_code", self.auth_code.is_some()),
                    ("wallet", self.wallet.is_some()),
                    ("return_url", self.return_url.is_some()),
                ] {
                    if present {
                        return Err(bad(
                            name,
                            "goes in a tender: a combined order's tenders say how each part is paid",
                        ));
                    }
                }
                let open_id = self.payer.as_ref().is_some_and(|p| p.open_id.is_some());
                let tenders = tenders::validate(bodies, &currency, open_id)?;
                (tenders::order_scene(&tenders), tenders)
            }
        };
        let auth_code = match (
            scene.takes_auth_code() && tenders.is_empty(),
            self.auth_code,
        ) {
            (true, None) => {
                return Err(FieldError {
                    message: format!("is required for scene {scene}"),
                    ..missing("auth_code")
                });
            }
            (true, Some(c))
                if !(6..=128).contains(&c.len())
                    || !c.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                return Err(bad("auth_code", "must be 6-128 letters or digits"));
            }
            (_, code) => code,
        };
        let wallet = match self.wallet {
            Some(w) if !wallet_name(&w) => {
                return Err(bad(
                    "wallet",
                    "must be a lower-case wallet name like `alipay`",
                ));
            }
            other => other,
        };
        if scene == Scene::Jsapi && tenders.is_empty() {
            let p = self.payer.as_ref();
            let has_id = p.is_some_and(|p| p.open_id.is_some() || p.buyer_id.is_some());
            if !has_id {
                return Err(bad(
                    "payer",
                    "scene jsapi needs the payer's `open_id` (with `app_id`) or `buyer_id`",
                ));
            }
        }
        let goods = self.goods.unwrap_or_default();
        for (i, g) in goods.iter().enumerate() {
            let field = |f: &str| format!("goods[{i}].{f}");
            if g.quantity == 0 {
                return Err(bad(&field("quantity"), "must be at least 1"));
            }
            if g.unit_price < 0 || g.unit_price > MAX_AMOUNT {
                return Err(bad(
                    &field("unit_price"),
                    "must be between 0 and the maximum amount",
                ));
            }
            if g.discount < 0 || g.discount > g.unit_price.saturating_mul(g.quantity as i64) {
                return Err(bad(
                    &field("discount"),
                    "must be between 0 and the line total",
                ));
            }
        }
        if self.return_url.is_some() && scene != Scene::Checkout {
            return Err(bad(
                "return_url",
                "is used by scene checkout only (paycore's hosted page)",
            ));
        }
        if scene == Scene::Checkout && auth_code.is_some() {
            return Err(bad(
                "auth_code",
                "scene checkout takes no payment code: the payer chooses a wallet on paycore's page",
            ));
        }
        if let Some(e) = self.expires_in
            && !(60..=7 * 86_400).contains(&e)
        {
            return Err(bad("expires_in", "must be between 60 and 604800 seconds"));
        }
        let metadata = self.metadata.unwrap_or_default();
        if metadata.len() > 32 || metadata.iter().any(|(k, v)| k.len() > 64 || v.len() > 512) {
            return Err(bad(
                "metadata",
                "at most 32 keys of 64 characters with values of 512 characters",
            ));
        }
        Ok(PaymentRequest {
            merchant_order_no,
            amount,
            currency,
            scene,
            auth_code,
            wallet,
            subject: short_text("subject", self.subject, 256)?,
            payer: self.payer,
            goods,
            receipt_no: short_text("receipt_no", self.receipt_no, 64)?,
            store_id: short_text("store_id", self.store_id, 64)?,
            terminal_id: short_text("terminal_id", self.terminal_id, 64)?,
            client_ip: ip_address("client_ip", self.client_ip)?,
            expires_in: self.expires_in,
            notify_url: http_url("notify_url", self.notify_url)?,
            return_url: http_url("return_url", self.return_url)?,
            metadata,
            tenders,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RefundBody {
    /// The merchant's refund number, unique per tenant (the refund's idempotency key).
    #[schema(required = true, value_type = String, pattern = "^[A-Za-z0-9_.:-]{1,64}$", example = "R-0001")]
    pub merchant_refund_no: Option<String>,
    /// Minor units; at most what remains refundable.
    #[schema(required = true, value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64, example = 1000)]
    pub amount: Option<i64>,
    #[schema(max_length = 256, example = "one latte less")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundRequest {
    pub merchant_refund_no: String,
    pub amount: i64,
    pub reason: Option<String>,
}

impl RefundBody {
    pub fn validate(self) -> Result<RefundRequest, FieldError> {
        Ok(RefundRequest {
            merchant_refund_no: order_no("merchant_refund_no", self.merchant_refund_no)?,
            amount: amount("amount", self.amount)?,
            reason: short_text("reason", self.reason, 256)?,
        })
    }
}

/// sha256 of a request's canonical JSON.
pub fn fingerprint<T: Serialize>(request: &T) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::to_vec(request).expect("requests always serialise");
    hex::encode(Sha256::digest(canonical))
}

/// What routing looks at of a validated request.
impl<'a> From<&'a PaymentRequest> for crate::routing::Intent<'a> {
    fn from(r: &'a PaymentRequest) -> Self {
        crate::routing::Intent {
            merchant_order_no: &r.merchant_order_no,
            scene: r.scene,
            wallet: r.wallet.as_deref(),
            auth_code: r.auth_code.as_deref(),
            amount: r.amount,
            currency: &r.currency,
            store_id: r.store_id.as_deref(),
            terminal_id: r.terminal_id.as_deref(),
            metadata: &r.metadata,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> PaymentBody {
        PaymentBody {
            merchant_order_no: Some("A1".into()),
            amount: Some(8888),
            currency: Some("CNY".into()),
            scene: Some("barcode".into()),
            auth_code: Some("283400011122223333".into()),
            ..Default::default()
        }
    }

    fn field_of(b: PaymentBody) -> String {
        b.validate().unwrap_err().field
    }

    #[test]
    fn a_good_barcode_request_validates() {
        let r = body().validate().unwrap();
        assert_eq!(r.amount, 8888);
        assert_eq!(r.scene, Scene::Barcode);
    }

    #[test]
    fn each_problem_names_its_field() {
        assert_eq!(
            field_of(PaymentBody {
                amount: Some(-1),
                ..body()
            }),
            "amount"
        );
        assert_eq!(
            field_of(PaymentBody {
                amount: Some(0),
                ..body()
            }),
            "amount"
        );
        assert_eq!(
            field_of(PaymentBody {
                currency: Some("XXX".into()),
                ..body()
            }),
            "currency"
        );
        assert_eq!(
            field_of(PaymentBody {
                scene: Some("teleport".into()),
                ..body()
            }),
            "scene"
        );
        assert_eq!(
            field_of(PaymentBody {
                auth_code: None,
                ..body()
            }),
            "auth_code"
        );
        assert_eq!(
            field_of(PaymentBody {
                merchant_order_no: Some("a b".into()),
                ..body()
            }),
            "merchant_order_no"
        );
        assert_eq!(
            field_of(PaymentBody {
                scene: Some("jsapi".into()),
                ..body()
            }),
            "payer"
        );
        let bad_goods = vec![GoodsItem {
            id: "1".into(),
            name: "x".into(),
            quantity: 1,
            unit_price: 100,
            discount: 101,
        }];
        assert_eq!(
            field_of(PaymentBody {
                goods: Some(bad_goods),
                ..body()
            }),
            "goods[0].discount"
        );
        assert_eq!(
            field_of(PaymentBody {
                notify_url: Some("ftp://x".into()),
                ..body()
            }),
            "notify_url"
        );
    }

    #[test]
    fn client_ip_must_be_an_address() {
        for junk in [
            "",
            "localhost",
            "203.0.113",
            "203.0.113.7:80",
            " 203.0.113.7",
            "::g",
        ] {
            let b = PaymentBody {
                client_ip: Some(junk.into()),
                ..body()
            };
            assert_eq!(field_of(b), "client_ip", "{junk:?}");
        }
        for ip in ["203.0.113.7", "2001:db8::7", "::ffff:203.0.113.7"] {
            let b = PaymentBody {
                client_ip: Some(ip.into()),
                ..body()
            };
            assert_eq!(b.validate().unwrap().client_ip.as_deref(), Some(ip));
        }
    }

    #[test]
    fn fingerprints_depend_on_content_only() {
        let a = body().validate().unwrap();
        let b = body().validate().unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = PaymentBody {
            amount: Some(8889),
            ..body()
        }
        .validate()
        .unwrap();
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
