//! Routing's decision (`paycore_core::routing`, pure) applied to a tenant's
//! bound channels: the candidates it names become the channels to call.

pub use paycore_core::routing::{
    AllClosed, Breaker, BreakerConfig, BreakerState, CandidateCheck, Channels, Conditions,
    Explanation, Health, Intent, NoRoute, Offer, Policy, Rule, RuleCheck, Target, WalletSource,
    amount, breaker, rules, split, wallet_from_auth_code, window,
};

use crate::registry::{BoundChannel, Tenant};
use jiff::Timestamp;
use std::sync::Arc;

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

/// The channels to try for a payment, in order.
pub fn route(
    tenant: &Tenant,
    intent: &Intent<'_>,
    now: Timestamp,
    health: &dyn Health,
) -> Result<Route, NoRoute> {
    let route = paycore_core::routing::route(&tenant.routing(), intent, now, health)?;
    Ok(Route {
        rule: route.rule,
        candidates: route
            .candidates
            .into_iter()
            .filter_map(|c| {
                Some(Candidate {
                    channel: tenant.channel(&c.channel)?.clone(),
                    wallet: c.wallet,
                })
            })
            .collect(),
    })
}

/// The whole decision, step by step (see `paycore_core::routing::explain`).
pub fn explain(
    tenant: &Tenant,
    intent: &Intent<'_>,
    now: Timestamp,
    health: &dyn Health,
) -> Explanation {
    paycore_core::routing::explain(&tenant.routing(), intent, now, health)
}
