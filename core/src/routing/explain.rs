//! The routing decision, step by step: each rule tried (and why it missed),
//! the rule that matched, and each candidate channel kept or skipped with
//! the reason. `route` acts on it; `POST /v1/routing/explain` and
//! `paycore route explain` show it, so both always give the same answer.

use super::breaker::BreakerState;
use super::rules::Target;
use super::{Health, Intent, Offer, Policy, WalletSource, split, why_not};
use jiff::Timestamp;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub tenant: String,
    /// The tenant's local time the rules were checked at.
    pub local_time: String,
    pub wallet: Option<String>,
    pub wallet_source: WalletSource,
    /// The rules tried, in order, up to and including the one that matched.
    pub rules: Vec<RuleCheck>,
    /// The rule that decided, if any.
    pub rule: Option<String>,
    /// The channels the rule names, in the order they would be tried.
    pub candidates: Vec<CandidateCheck>,
    /// The channel the payment would be sent to first.
    pub channel: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleCheck {
    pub name: String,
    /// Line in the tenant file (absent for the implicit default).
    pub line: Option<usize>,
    pub matched: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CandidateCheck {
    pub channel: String,
    /// `name@version` of the plugin bound to the channel, if any.
    pub plugin: Option<String>,
    /// Its place in the rule: the rule's channel, first in the fallback
    /// list, picked by weight, …
    pub role: String,
    pub kept: bool,
    /// Why it is kept or skipped (capability, breaker).
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<&'static str>,
}

pub fn explain(
    policy: &Policy<'_>,
    intent: &Intent<'_>,
    now: Timestamp,
    health: &dyn Health,
) -> Explanation {
    let local = now.to_zoned_datetime(policy.timezone.clone());
    let (wallet, wallet_source) = super::wallet_of(intent);
    let mut out = Explanation {
        tenant: policy.tenant.to_string(),
        local_time: local
            .round(jiff::Unit::Second)
            .unwrap_or_else(|_| local.clone())
            .to_string(),
        wallet: wallet.map(str::to_string),
        wallet_source,
        rules: Vec::new(),
        rule: None,
        candidates: Vec::new(),
        channel: None,
    };
    let Some(rule) = policy.rules.iter().find(|rule| {
        let verdict = rule.when.check(intent, wallet, local.datetime());
        out.rules.push(RuleCheck {
            name: rule.name.clone(),
            line: rule.position.map(|p| p.0),
            matched: verdict.is_ok(),
            reason: verdict.err(),
        });
        out.rules.last().is_some_and(|r| r.matched)
    }) else {
        return out;
    };
    out.rule = Some(rule.name.clone());

    // The order to try the rule's channels in, with a note for each.
    let ordered: Vec<(String, Option<u32>, String)> = match &rule.target {
        Target::Channel(c) => vec![(c.clone(), None, "the rule's channel".into())],
        Target::Fallback(list) => list
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let note = if i == 0 {
                    "first in the fallback list".to_string()
                } else {
                    format!("fallback #{i}")
                };
                (c.clone(), None, note)
            })
            .collect(),
        Target::Split(entries) => {
            let weights: Vec<u32> = entries.iter().map(|e| e.1).collect();
            let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
            let bucket = split::bucket(policy.tenant, &rule.name, intent.merchant_order_no, total);
            let picked = split::pick(&weights, bucket);
            split::order(&weights, picked)
                .into_iter()
                .map(|i| {
                    let (c, w) = &entries[i];
                    let note = if i == picked {
                        format!(
                            "picked by weight {w} of {total}: this order falls in bucket {bucket}"
                        )
                    } else {
                        format!(
                            "not picked (weight {w} of {total}); tried if the pick cannot take it"
                        )
                    };
                    (c.clone(), Some(*w), note)
                })
                .collect()
        }
    };

    // Capability first; then breakers, which only skip while another
    // channel that can serve remains.
    let mut checks: Vec<(CandidateCheck, Option<BreakerState>)> = Vec::new();
    for (id, weight, note) in ordered {
        let offer = policy.channels.offer(&id);
        let mut check = CandidateCheck {
            channel: id.clone(),
            plugin: match offer {
                Offer::Served { plugin, .. } => Some(plugin.to_string()),
                Offer::Disabled | Offer::Unserved => None,
            },
            role: note,
            kept: false,
            reason: String::new(),
            weight,
            breaker: None,
        };
        let state = match offer {
            Offer::Disabled => {
                check.reason = "skipped: the channel is disabled".into();
                None
            }
            Offer::Unserved => {
                check.reason = "skipped: no loaded plugin serves this channel".into();
                None
            }
            Offer::Served { .. } => match why_not(&offer, intent.scene, wallet, intent.currency) {
                Some(why) => {
                    check.reason = format!("skipped: {why}");
                    None
                }
                None => {
                    check.reason = "its plugin serves this scene, wallet and currency".into();
                    let s = health.state(&id, now);
                    check.breaker = Some(s.as_str());
                    Some(s)
                }
            },
        };
        checks.push((check, state));
    }
    let any_usable = checks
        .iter()
        .any(|(_, s)| matches!(s, Some(BreakerState::Closed | BreakerState::HalfOpen)));
    for (check, state) in &mut checks {
        match state {
            None => {}
            Some(BreakerState::Open { until }) if any_usable => {
                check.reason = format!(
                    "skipped: circuit breaker open until {}",
                    until.round(jiff::Unit::Second).unwrap_or(*until)
                );
            }
            Some(BreakerState::Open { .. }) => {
                check.kept = true;
                check.reason = format!(
                    "{}; its breaker is open, but no channel with a closed breaker can serve, so it is tried anyway",
                    check.reason
                );
            }
            Some(BreakerState::HalfOpen) => {
                check.kept = true;
                check.reason = format!(
                    "{}; its breaker is half-open: this payment probes the channel",
                    check.reason
                );
            }
            Some(BreakerState::Closed) => check.kept = true,
        }
    }
    out.candidates = checks.into_iter().map(|(c, _)| c).collect();
    out.channel = out
        .candidates
        .iter()
        .find(|c| c.kept)
        .map(|c| c.channel.clone());
    out
}
