//! Which channel serves a payment. Pure: no I/O, decided from the tenant's
//! bound channels and the plugins' manifests.
//!
//! This is the foundation's routing: the first channel (in config order)
//! whose plugin serves the scene, wallet and currency. Rule-based routing
//! builds on the same candidate check.

use crate::domain::Scene;
use crate::registry::{BoundChannel, Tenant};
use std::sync::Arc;

/// What routing looks at.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    pub scene: Scene,
    pub wallet: Option<&'a str>,
    pub auth_code: Option<&'a str>,
    pub currency: &'a str,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub channel: Arc<BoundChannel>,
    pub wallet: String,
}

/// Why no channel was chosen, one line per channel considered.
#[derive(Debug, Clone)]
pub struct NoRoute {
    pub wallet: Option<String>,
    pub reasons: Vec<String>,
}

/// The wallet a payment code belongs to, by its published prefix:
/// WeChat Pay 10–15, Alipay 25–30, UnionPay 62.
pub fn wallet_from_auth_code(code: &str) -> Option<&'static str> {
    let prefix: u32 = code.get(..2)?.parse().ok()?;
    match prefix {
        10..=15 => Some("wechat"),
        25..=30 => Some("alipay"),
        62 => Some("unionpay"),
        _ => None,
    }
}

pub fn route(tenant: &Tenant, intent: &Intent<'_>) -> Result<Route, NoRoute> {
    // An explicit wallet wins; otherwise the payment code's prefix tells.
    let wallet = intent.wallet.map(str::to_string).or_else(|| {
        intent
            .auth_code
            .and_then(wallet_from_auth_code)
            .map(str::to_string)
    });
    let mut reasons = Vec::new();
    for channel in &tenant.channels {
        match why_not(channel, intent.scene, wallet.as_deref(), intent.currency) {
            None => {
                let wallet = wallet
                    .clone()
                    .unwrap_or_else(|| channel.plugin.manifest.wallets[0].clone());
                return Ok(Route {
                    channel: channel.clone(),
                    wallet,
                });
            }
            Some(reason) => reasons.push(format!("{}: {reason}", channel.id)),
        }
    }
    if tenant.channels.is_empty() {
        reasons.push("the tenant has no enabled channel".into());
    }
    Err(NoRoute { wallet, reasons })
}

fn why_not(
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
mod tests {
    use super::*;

    #[test]
    fn wallets_are_inferred_from_published_prefixes() {
        assert_eq!(wallet_from_auth_code("134567890123456789"), Some("wechat"));
        assert_eq!(wallet_from_auth_code("283400011122223333"), Some("alipay"));
        assert_eq!(
            wallet_from_auth_code("6212345678901234567"),
            Some("unionpay")
        );
        assert_eq!(wallet_from_auth_code("9912345678"), None);
        assert_eq!(wallet_from_auth_code("x"), None);
    }
}
