//! A tenant's routing rules, typed: what each rule matches and what it
//! routes to. Built by `config` from the tenant file; matched here.

use super::Intent;
use super::amount::MinorRange;
use super::window::Window;
use crate::domain::Scene;
use jiff::civil::DateTime;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Rule {
    /// Given by the tenant, or `rule N` (1-based, in file order).
    pub name: String,
    /// Where the rule starts in the tenant file (line, column); `None` for
    /// the implicit default of a tenant without rules.
    pub position: Option<(usize, usize)>,
    pub when: Conditions,
    pub target: Target,
    /// Where each target channel is named, in `Target::channels` order.
    pub target_positions: Vec<Option<(usize, usize)>>,
}

/// Every condition present must hold. All `None`/empty: the rule matches
/// every payment (a default).
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub scenes: Option<Vec<Scene>>,
    pub wallets: Option<Vec<String>>,
    pub currencies: Option<Vec<String>>,
    pub amount: Option<AmountCondition>,
    pub store_ids: Option<Patterns>,
    pub terminal_ids: Option<Patterns>,
    /// Key → accepted values (one value: equals; several: in).
    pub metadata: Vec<(String, Vec<String>)>,
    pub window: Option<Window>,
}

/// `amount`, already converted to each of the rule's currencies.
#[derive(Debug, Clone)]
pub struct AmountCondition {
    pub text: String,
    pub by_currency: BTreeMap<String, MinorRange>,
}

/// Literal values or globs (`shop-*`, `pos-?`).
#[derive(Debug, Clone)]
pub struct Patterns(pub Vec<glob::Pattern>);

impl Patterns {
    fn matches(&self, value: &str) -> bool {
        self.0.iter().any(|p| p.matches(value))
    }
    fn describe(&self) -> String {
        self.0
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Channel(String),
    /// Tried in order, moving on only when a channel certainly took no money.
    Fallback(Vec<String>),
    /// `(channel, weight)` in the order written; the total is positive.
    Split(Vec<(String, u32)>),
}

impl Target {
    pub fn channels(&self) -> Vec<&str> {
        match self {
            Target::Channel(c) => vec![c.as_str()],
            Target::Fallback(list) => list.iter().map(String::as_str).collect(),
            Target::Split(list) => list.iter().map(|(c, _)| c.as_str()).collect(),
        }
    }
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        self.scenes.is_none()
            && self.wallets.is_none()
            && self.currencies.is_none()
            && self.amount.is_none()
            && self.store_ids.is_none()
            && self.terminal_ids.is_none()
            && self.metadata.is_empty()
            && self.window.is_none()
    }

    /// `Ok` when every condition holds for the payment at local time
    /// `local`; otherwise the first condition that does not, in words.
    pub fn check(
        &self,
        p: &Intent<'_>,
        wallet: Option<&str>,
        local: DateTime,
    ) -> Result<(), String> {
        if let Some(scenes) = &self.scenes
            && !scenes.contains(&p.scene)
        {
            return Err(format!("scene {} is not {}", p.scene, list(scenes)));
        }
        if let Some(wallets) = &self.wallets {
            match wallet {
                None => {
                    return Err(format!(
                        "the wallet is not known (none given, none inferred from the auth_code), and the rule needs {}",
                        list(wallets)
                    ));
                }
                Some(w) if !wallets.iter().any(|x| x == w) => {
                    return Err(format!("wallet {w} is not {}", list(wallets)));
                }
                Some(_) => {}
            }
        }
        if let Some(currencies) = &self.currencies
            && !currencies.iter().any(|c| c == p.currency)
        {
            return Err(format!(
                "currency {} is not {}",
                p.currency,
                list(currencies)
            ));
        }
        if let Some(a) = &self.amount {
            let inside = a
                .by_currency
                .get(p.currency)
                .is_some_and(|r| r.contains(p.amount));
            if !inside {
                let shown = paycore_plugin_sdk::money::to_major_string(p.amount, p.currency)
                    .unwrap_or_else(|_| p.amount.to_string());
                return Err(format!(
                    "amount {shown} {} is not in `{}`",
                    p.currency, a.text
                ));
            }
        }
        for (field, patterns, value) in [
            ("store_id", &self.store_ids, p.store_id),
            ("terminal_id", &self.terminal_ids, p.terminal_id),
        ] {
            let Some(patterns) = patterns else { continue };
            match value {
                None => {
                    return Err(format!(
                        "no {field} given; the rule needs {}",
                        patterns.describe()
                    ));
                }
                Some(v) if !patterns.matches(v) => {
                    return Err(format!("{field} {v} is not {}", patterns.describe()));
                }
                Some(_) => {}
            }
        }
        for (key, accepted) in &self.metadata {
            match p.metadata.get(key) {
                None => return Err(format!("metadata has no `{key}`")),
                Some(v) if !accepted.contains(v) => {
                    return Err(format!("metadata `{key}` is `{v}`, not {}", list(accepted)));
                }
                Some(_) => {}
            }
        }
        if let Some(w) = &self.window {
            w.check(local)?;
        }
        Ok(())
    }
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let words: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    match words.len() {
        1 => words[0].clone(),
        _ => format!("one of {}", words.join(", ")),
    }
}
