//! Which channels serve a payment, in which order. Pure: no I/O and no
//! clock. The caller passes "now" and the channels' breaker states (through
//! [`Health`]); the decision comes from the tenant's rules and the plugins'
//! manifests.
//!
//! The first rule whose conditions all hold decides. Its target names one
//! channel, a fallback list, or a weighted split; each named channel is a
//! candidate only if its plugin serves the payment's scene, wallet and
//! currency, and is skipped while its breaker is open and another can serve.

pub mod amount;
pub mod breaker;
mod explain;
pub mod rules;
pub mod split;
pub mod window;

pub use breaker::{Breaker, BreakerConfig, BreakerState};
pub use explain::{CandidateCheck, Explanation, RuleCheck, explain};
pub use rules::{Conditions, Rule, Target};

use crate::domain::Scene;
use crate::payments::request::PaymentRequest;
use crate::registry::{BoundChannel, Tenant};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What routing looks at.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    pub merchant_order_no: &'a str,
    pub scene: Scene,
    pub wallet: Option<&'a str>,
    pub auth_code: Option<&'a str>,
    pub amount: i64,
    pub currency: &'a str,
    pub store_id: Option<&'a str>,
    pub terminal_id: Option<&'a str>,
    pub metadata: &'a BTreeMap<String, String>,
}

impl<'a> From<&'a PaymentRequest> for Intent<'a> {
    fn from(r: &'a PaymentRequest) -> Self {
        Intent {
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

/// The breaker state of a tenant's channel at a given time.
pub trait Health {
    fn state(&self, channel: &str, now: Timestamp) -> BreakerState;
}

/// Every breaker closed: for tools that have no live history.
pub struct AllClosed;

impl Health for AllClosed {
    fn state(&self, _: &str, _: Timestamp) -> BreakerState {
        BreakerState::Closed
    }
}

/// One channel to try, with the wallet to ask it for.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub channel: Arc<BoundChannel>,
    pub wallet: String,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub rule: String,
    /// In the order to try them; never empty.
    pub candidates: Vec<Candidate>,
}

/// Why no channel was chosen: every rule missed (one line each), or the
/// rule that matched has no channel that can serve (one line per channel).
#[derive(Debug, Clone)]
pub struct NoRoute {
    pub wallet: Option<String>,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WalletSource {
    /// The request named it.
    Request,
    /// Inferred from the payment code's prefix.
    AuthCode,
    /// Not known: each channel's plugin uses its own first wallet.
    Unknown,
}

/// The wallet a payment code belongs to, by its published prefix:
/// WeChat Pay 10–15, Alipay 25–30, UnionPay 62. Sandbox codes (any digits)
/// name no wallet: send `wallet = "sandbox"`.
pub fn wallet_from_auth_code(code: &str) -> Option<&'static str> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u32 = code.get(..2)?.parse().ok()?;
    match prefix {
        10..=15 => Some("wechat"),
        25..=30 => Some("alipay"),
        62 => Some("unionpay"),
        _ => None,
    }
}

/// An explicit wallet wins; otherwise the payment code's prefix tells.
fn wallet_of<'a>(intent: &Intent<'a>) -> (Option<&'a str>, WalletSource) {
    if let Some(w) = intent.wallet {
        return (Some(w), WalletSource::Request);
    }
    match intent.auth_code.and_then(wallet_from_auth_code) {
        Some(w) => (Some(w), WalletSource::AuthCode),
        None => (None, WalletSource::Unknown),
    }
}

/// The channels to try for a payment, in order.
pub fn route(
    tenant: &Tenant,
    intent: &Intent<'_>,
    now: Timestamp,
    health: &dyn Health,
) -> Result<Route, NoRoute> {
    let e = explain(tenant, intent, now, health);
    let candidates: Vec<Candidate> = e
        .candidates
        .iter()
        .filter(|c| c.kept)
        .filter_map(|c| tenant.channel(&c.channel))
        .map(|ch| Candidate {
            wallet: e
                .wallet
                .clone()
                .unwrap_or_else(|| ch.plugin.manifest.wallets[0].clone()),
            channel: ch.clone(),
        })
        .collect();
    match (e.rule, candidates.is_empty()) {
        (Some(rule), false) => Ok(Route { rule, candidates }),
        (Some(rule), true) => Err(NoRoute {
            wallet: e.wallet,
            reasons: std::iter::once(format!(
                "rule `{rule}` matched, but none of its channels can serve"
            ))
            .chain(
                e.candidates
                    .iter()
                    .map(|c| format!("{}: {}", c.channel, c.reason)),
            )
            .collect(),
        }),
        (None, _) => Err(NoRoute {
            wallet: e.wallet,
            reasons: if e.rules.is_empty() {
                vec!["the tenant has no routing rules".into()]
            } else {
                e.rules
                    .iter()
                    .map(|r| {
                        format!(
                            "rule `{}` missed: {}",
                            r.name,
                            r.reason.as_deref().unwrap_or("")
                        )
                    })
                    .collect()
            },
        }),
    }
}

/// Why `channel`'s plugin cannot take this payment, if it cannot.
pub fn why_not(
    channel: &BoundChannel,
    scene: Scene,
    wallet: Option<&str>,
    currency: &str,
) -> Option<String> {
    let m = &channel.plugin.manifest;
    if !m.scenes.contains(&scene) {
        return Some(format!(
            "plugin {} does not serve scene {scene}",
            channel.plugin.label()
        ));
    }
    if let Some(w) = wallet
        && !m.wallets.iter().any(|x| x == w)
    {
        return Some(format!(
            "plugin {} does not serve wallet {w}",
            channel.plugin.label()
        ));
    }
    if !m.currencies.iter().any(|c| c == currency) {
        return Some(format!(
            "plugin {} does not serve currency {currency}",
            channel.plugin.label()
        ));
    }
    None
}

#[cfg(test)]
mod tests;
