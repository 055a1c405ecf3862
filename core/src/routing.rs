//! Which channels serve a payment, in which order. Pure: no I/O and no
//! clock. The caller passes "now", the channels' breaker states (through
//! [`Health`]) and what each channel's plugin offers (through [`Channels`]);
//! the decision comes from the tenant's rules and those offers.
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
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::BTreeMap;

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

/// A tenant as routing sees it: its rules, its time zone, and what each
/// channel the rules name can serve.
#[derive(Clone, Copy)]
pub struct Policy<'a> {
    /// The tenant's id: part of a weighted split's hash.
    pub tenant: &'a str,
    pub timezone: &'a TimeZone,
    /// In file order; the first whose conditions hold decides.
    pub rules: &'a [Rule],
    pub channels: &'a dyn Channels,
}

/// What a tenant's channel can take, as its plugin's manifest says.
#[derive(Debug, Clone, Copy)]
pub enum Offer<'a> {
    /// A loaded plugin serves the channel.
    Served {
        /// `name@version` of the plugin.
        plugin: &'a str,
        scenes: &'a [Scene],
        /// The first is the one asked for when the payment names none.
        wallets: &'a [String],
        currencies: &'a [String],
    },
    /// Configured with `enabled = false`.
    Disabled,
    /// Not configured, or no loaded plugin serves it.
    Unserved,
}

/// Looks up what a tenant's channel offers.
pub trait Channels {
    fn offer(&self, channel: &str) -> Offer<'_>;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub channel: String,
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
/// WeChat Pay 10–15, Alipay 25–30, UnionPay 62, e-CNY 01 (19 digits: no
/// official specification is published; acquirers' public integrations
/// agree on it), and paycore's own cards 88 (a member's 18-digit dynamic
/// code, wallet `card`). Sandbox codes (any digits) name no wallet: send
/// `wallet = "sandbox"`.
pub fn wallet_from_auth_code(code: &str) -> Option<&'static str> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u32 = code.get(..2)?.parse().ok()?;
    match prefix {
        10..=15 => Some("wechat"),
        25..=30 => Some("alipay"),
        62 => Some("unionpay"),
        1 if code.len() == 19 => Some("ecny"),
        88 if code.len() == 18 => Some("card"),
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
    policy: &Policy<'_>,
    intent: &Intent<'_>,
    now: Timestamp,
    health: &dyn Health,
) -> Result<Route, NoRoute> {
    let e = explain(policy, intent, now, health);
    let candidates: Vec<Candidate> = e
        .candidates
        .iter()
        .filter(|c| c.kept)
        .filter_map(|c| match policy.channels.offer(&c.channel) {
            Offer::Served { wallets, .. } => Some(Candidate {
                channel: c.channel.clone(),
                wallet: e.wallet.clone().or_else(|| wallets.first().cloned())?,
            }),
            Offer::Disabled | Offer::Unserved => None,
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

/// Why a channel's plugin cannot take this payment, if it cannot.
pub fn why_not(
    offer: &Offer<'_>,
    scene: Scene,
    wallet: Option<&str>,
    currency: &str,
) -> Option<String> {
    let Offer::Served {
        plugin,
        scenes,
        wallets,
        currencies,
    } = offer
    else {
        return Some("no loaded plugin serves this channel".into());
    };
    if !scenes.contains(&scene) {
        return Some(format!("plugin {plugin} does not serve scene {scene}"));
    }
    if let Some(w) = wallet
        && !wallets.iter().any(|x| x == w)
    {
        return Some(format!("plugin {plugin} does not serve wallet {w}"));
    }
    if !currencies.iter().any(|c| c == currency) {
        return Some(format!(
            "plugin {plugin} does not serve currency {currency}"
        ));
    }
    None
}

#[cfg(test)]
mod tests;
