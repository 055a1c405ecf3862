//! The live circuit breakers, one per tenant channel, fed by the outcomes
//! of pay attempts. Routing reads them through `routing::Health`.
//!
//! In memory and per process: a restart starts every breaker closed, and
//! several paycore instances each keep their own view.

use crate::registry::Tenant;
use crate::routing::{Breaker, BreakerConfig, BreakerState, Health};
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct ChannelHealth {
    /// (tenant, channel) → breaker.
    breakers: Mutex<HashMap<(String, String), Breaker>>,
}

/// One channel's breaker as the admin API shows it.
#[derive(Debug, Clone)]
pub struct BreakerView {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    pub last_failure: Option<String>,
}

impl ChannelHealth {
    pub fn record(&self, tenant: &Tenant, channel: &str, failure: Option<&str>, now: Timestamp) {
        let mut map = self.breakers.lock().expect("breaker lock");
        let b = map
            .entry((tenant.config.id.to_string(), channel.to_string()))
            .or_default();
        match failure {
            None => b.succeeded(),
            Some(why) => {
                let before = b.state(&tenant.config.breaker, now);
                b.failed(&tenant.config.breaker, now, why);
                let after = b.state(&tenant.config.breaker, now);
                if before.as_str() != after.as_str() {
                    tracing::warn!(tenant = %tenant.config.id, channel, state = after.as_str(), reason = why, "channel breaker changed");
                }
            }
        }
    }

    pub fn view(&self, tenant: &Tenant, channel: &str, now: Timestamp) -> BreakerView {
        let map = self.breakers.lock().expect("breaker lock");
        let b = map
            .get(&(tenant.config.id.to_string(), channel.to_string()))
            .cloned()
            .unwrap_or_default();
        BreakerView {
            state: b.state(&tenant.config.breaker, now),
            consecutive_failures: b.consecutive_failures,
            last_failure: b.last_failure,
        }
    }

    /// The breakers of one tenant, as routing consults them.
    pub fn of<'a>(&'a self, tenant: &'a Tenant) -> TenantHealth<'a> {
        TenantHealth {
            health: self,
            tenant: &tenant.config.id,
            config: tenant.config.breaker,
        }
    }
}

pub struct TenantHealth<'a> {
    health: &'a ChannelHealth,
    tenant: &'a str,
    config: BreakerConfig,
}

impl Health for TenantHealth<'_> {
    fn state(&self, channel: &str, now: Timestamp) -> BreakerState {
        let map = self.health.breakers.lock().expect("breaker lock");
        map.get(&(self.tenant.to_string(), channel.to_string()))
            .map_or(BreakerState::Closed, |b| b.state(&self.config, now))
    }
}
