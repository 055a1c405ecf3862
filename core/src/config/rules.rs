//! A tenant's `[[rules]]`, `timezone` and `[breaker]`: raw TOML values into
//! typed routing rules, every problem placed at its key or value.

use super::checker::Checker;
use super::raw::{RawBreaker, RawValue};
use crate::domain::Scene;
use crate::routing::BreakerConfig;
use crate::routing::amount;
use crate::routing::rules::{AmountCondition, Conditions, Patterns, Rule, Target};
use crate::routing::window::{self, Window};
use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

const CONDITIONS: &[&str] = &[
    "scene",
    "wallet",
    "currency",
    "amount",
    "store_id",
    "terminal_id",
    "metadata",
    "days",
    "hours",
];
const TARGETS: &[&str] = &["channel", "fallback", "split"];
/// A split weight above this is surely a typo.
const MAX_WEIGHT: i64 = 1_000_000;

pub(super) fn timezone(raw: Option<&Spanned<String>>, c: &mut Checker<'_>) -> jiff::tz::TimeZone {
    let Some(name) = raw else {
        return jiff::tz::TimeZone::UTC;
    };
    match jiff::tz::TimeZone::get(name.get_ref()) {
        Ok(tz) => tz,
        Err(_) => {
            c.error(
                name,
                format!(
                    "`{}` is not an IANA time zone like `Asia/Shanghai` or `UTC`",
                    name.get_ref()
                ),
            );
            jiff::tz::TimeZone::UTC
        }
    }
}

pub(super) fn breaker(raw: Option<&RawBreaker>, c: &mut Checker<'_>) -> BreakerConfig {
    let d = BreakerConfig::default();
    let Some(raw) = raw else { return d };
    BreakerConfig {
        failures: c.bounded(&raw.failures, u64::from(d.failures), 1, 1000) as u32,
        cooldown: Duration::from_millis(c.bounded(
            &raw.cooldown_ms,
            d.cooldown.as_millis() as u64,
            100,
            86_400_000,
        )),
    }
}

/// Typed rules. `channels` are the tenant's channel ids (enabled or not).
/// Without any rule, one implicit default tries every channel in order.
pub(super) fn rules(
    raw: &[Spanned<RawValue>],
    channels: &[&str],
    c: &mut Checker<'_>,
) -> Vec<Rule> {
    if raw.is_empty() {
        return vec![Rule {
            name: "default".into(),
            position: None,
            when: Conditions::default(),
            target: Target::Fallback(channels.iter().map(|s| s.to_string()).collect()),
            target_positions: vec![None; channels.len()],
        }];
    }
    let mut out: Vec<Rule> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    // The first rule without conditions, once seen: everything after it is dead.
    let mut catch_all: Option<(String, usize)> = None;
    for (i, item) in raw.iter().enumerate() {
        let RawValue::Table(entries) = item.get_ref() else {
            c.error(item, "a rule is a table: `[[rules]]` followed by its keys");
            continue;
        };
        let position = c.position(item.span());
        if let Some(rule) = rule(i, entries, item.span(), channels, c) {
            if !names.insert(rule.name.clone()) {
                c.error_at(
                    item.span(),
                    format!("two rules are named `{}`; names must be unique", rule.name),
                );
            }
            if let Some((earlier, line)) = &catch_all {
                c.error_at(
                    item.span(),
                    format!(
                        "rule `{}` can never match: rule `{earlier}` (line {line}) has no conditions and takes every payment first",
                        rule.name
                    ),
                );
            } else if rule.when.is_empty() {
                catch_all = Some((rule.name.clone(), position.0));
            }
            out.push(Rule {
                position: Some(position),
                ..rule
            });
        }
    }
    out
}

fn rule(
    index: usize,
    entries: &[(Spanned<String>, Spanned<RawValue>)],
    span: Range<usize>,
    channels: &[&str],
    c: &mut Checker<'_>,
) -> Option<Rule> {
    let before = c.errors.0.len();
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|e| &e.1)
    };
    for (key, _) in entries {
        let k = key.get_ref().as_str();
        if !CONDITIONS.contains(&k) && !TARGETS.contains(&k) && k != "name" {
            c.error(
                key,
                format!(
                    "unknown key `{k}` in a rule; conditions are {}, targets are {}, and `name`",
                    CONDITIONS.join(", "),
                    TARGETS.join(", ")
                ),
            );
        }
    }
    let name = match get("name") {
        None => format!("rule {}", index + 1),
        Some(v) => match v.get_ref() {
            RawValue::Text(t) if !t.trim().is_empty() && t.len() <= 64 => t.clone(),
            _ => {
                c.error(v, "`name` must be a string of 1-64 characters");
                format!("rule {}", index + 1)
            }
        },
    };

    // Conditions.
    let mut when = Conditions::default();
    if let Some(v) = get("scene") {
        when.scenes = texts(v, "scene", c).map(|items| {
            items
                .into_iter()
                .filter_map(|(t, at)| match rule_scene(&t) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        c.error_at(at, e);
                        None
                    }
                })
                .collect()
        });
    }
    if let Some(v) = get("wallet") {
        when.wallets = texts(v, "wallet", c).map(|items| {
            for (w, at) in &items {
                let ok = !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !ok {
                    c.error_at(
                        at.clone(),
                        format!("`{w}` is not a wallet name like `alipay`"),
                    );
                }
            }
            items.into_iter().map(|i| i.0).collect()
        });
    }
    if let Some(v) = get("currency") {
        when.currencies = texts(v, "currency", c).map(|items| {
            for (cur, at) in &items {
                if paycore_plugin_sdk::money::exponent(cur).is_err() {
                    c.error_at(
                        at.clone(),
                        format!("`{cur}` is not a supported ISO 4217 currency code"),
                    );
                }
            }
            items.into_iter().map(|i| i.0).collect()
        });
    }
    if let Some(v) = get("amount") {
        when.amount = amount_condition(v, when.currencies.as_deref(), c);
    }
    if let Some(v) = get("store_id") {
        when.store_ids = patterns(v, "store_id", c);
    }
    if let Some(v) = get("terminal_id") {
        when.terminal_ids = patterns(v, "terminal_id", c);
    }
    if let Some(v) = get("metadata") {
        when.metadata = metadata(v, c);
    }
    let days = get("days").and_then(|v| {
        let items = texts(v, "days", c)?;
        let names: Vec<&str> = items.iter().map(|i| i.0.as_str()).collect();
        match window::parse_days(&names) {
            Ok(d) => Some((d, names.join(", "))),
            Err(e) => {
                c.error(v, e);
                None
            }
        }
    });
    let hours = get("hours").and_then(|v| match v.get_ref() {
        RawValue::Text(t) => match window::parse_hours(t) {
            Ok(h) => Some((h, t.clone())),
            Err(e) => {
                c.error(v, e);
                None
            }
        },
        other => {
            c.error(
                v,
                format!(
                    "`hours` must be a string like \"09:00-18:00\", not {}",
                    other.kind()
                ),
            );
            None
        }
    });
    if days.is_some() || hours.is_some() {
        let text = match (&days, &hours) {
            (Some(d), Some(h)) => format!("{} {}", d.1, h.1),
            (Some(d), None) => d.1.clone(),
            (None, Some(h)) => h.1.clone(),
            (None, None) => unreachable!("one of them is set"),
        };
        when.window = Some(Window {
            days: days.map(|d| d.0),
            hours: hours.map(|h| h.0),
            text,
        });
    }

    // Target: exactly one of channel, fallback, split.
    let given: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| get(t).is_some())
        .collect();
    let mut positions = Vec::new();
    let mut named = |id: &Spanned<String>, c: &mut Checker<'_>| -> String {
        if !channels.contains(&id.get_ref().as_str()) {
            c.error(
                id,
                format!(
                    "unknown channel `{}`; this tenant's channels are: {}",
                    id.get_ref(),
                    if channels.is_empty() {
                        "none".to_string()
                    } else {
                        channels.join(", ")
                    }
                ),
            );
        }
        positions.push(Some(c.position(id.span())));
        id.get_ref().clone()
    };
    let target = match given.as_slice() {
        [] => {
            c.error_at(
                span,
                format!("rule `{name}` names no channel: give it `channel`, `fallback` or `split`"),
            );
            None
        }
        [_, _, ..] => {
            c.error_at(
                span,
                format!(
                    "rule `{name}` has {}: give it only one",
                    given.join(" and ")
                ),
            );
            None
        }
        ["channel"] => {
            let v = get("channel").expect("given");
            match v.get_ref() {
                RawValue::Text(t) => Some(Target::Channel(named(
                    &Spanned::new(v.span(), t.clone()),
                    c,
                ))),
                other => {
                    c.error(
                        v,
                        format!("`channel` must be a channel id, not {}", other.kind()),
                    );
                    None
                }
            }
        }
        ["fallback"] => {
            let v = get("fallback").expect("given");
            match v.get_ref() {
                RawValue::List(items) if !items.is_empty() => {
                    let mut list: Vec<String> = Vec::new();
                    for item in items {
                        match item.get_ref() {
                            RawValue::Text(t) => {
                                if list.contains(t) {
                                    c.error(item, format!("channel `{t}` is listed twice"));
                                }
                                list.push(named(&Spanned::new(item.span(), t.clone()), c));
                            }
                            other => c.error(
                                item,
                                format!("expected a channel id, not {}", other.kind()),
                            ),
                        }
                    }
                    Some(Target::Fallback(list))
                }
                _ => {
                    c.error(
                        v,
                        "`fallback` must be a non-empty list of channel ids, tried in order",
                    );
                    None
                }
            }
        }
        _ => {
            let v = get("split").expect("given");
            match v.get_ref() {
                RawValue::Table(entries) if !entries.is_empty() => {
                    let mut list = Vec::new();
                    for (k, w) in entries {
                        let id = named(k, c);
                        match w.get_ref() {
                            RawValue::Integer(n) if (0..=MAX_WEIGHT).contains(n) => {
                                list.push((id, *n as u32));
                            }
                            _ => c.error(
                                w,
                                format!("a split weight is a whole number from 0 to {MAX_WEIGHT}"),
                            ),
                        }
                    }
                    if list.len() == entries.len() && list.iter().all(|e| e.1 == 0) {
                        c.error(v, "the split's weights add up to 0: give at least one channel a positive weight");
                    }
                    Some(Target::Split(list))
                }
                _ => {
                    c.error(v, "`split` must be a table of channel = weight, like { alipay-a = 80, alipay-b = 20 }");
                    None
                }
            }
        }
    };
    let target = target?;
    (c.errors.0.len() == before).then_some(Rule {
        name,
        position: None,
        when,
        target,
        target_positions: positions,
    })
}

/// A string or a non-empty list of strings, each with its span.
fn texts(
    v: &Spanned<RawValue>,
    key: &str,
    c: &mut Checker<'_>,
) -> Option<Vec<(String, Range<usize>)>> {
    match v.get_ref() {
        RawValue::Text(t) => Some(vec![(t.clone(), v.span())]),
        RawValue::List(items) if !items.is_empty() => {
            let mut out = Vec::new();
            for item in items {
                match item.get_ref() {
                    RawValue::Text(t) => out.push((t.clone(), item.span())),
                    other => c.error(item, format!("`{key}` takes strings, not {}", other.kind())),
                }
            }
            (out.len() == items.len()).then_some(out)
        }
        RawValue::List(_) => {
            c.error(v, format!("`{key}` must not be an empty list"));
            None
        }
        other => {
            c.error(
                v,
                format!(
                    "`{key}` must be a string or a list of strings, not {}",
                    other.kind()
                ),
            );
            None
        }
    }
}

fn patterns(v: &Spanned<RawValue>, key: &str, c: &mut Checker<'_>) -> Option<Patterns> {
    let items = texts(v, key, c)?;
    let mut out = Vec::new();
    for (t, at) in items {
        match glob::Pattern::new(&t) {
            Ok(p) => out.push(p),
            Err(e) => c.error_at(at, format!("`{t}` is not a valid pattern: {}", e.msg)),
        }
    }
    Some(Patterns(out))
}

fn metadata(v: &Spanned<RawValue>, c: &mut Checker<'_>) -> Vec<(String, Vec<String>)> {
    let RawValue::Table(entries) = v.get_ref() else {
        c.error(
            v,
            "`metadata` must be a table of key = value or key = [values], like { table = \"12\" }",
        );
        return Vec::new();
    };
    if entries.is_empty() {
        c.error(v, "`metadata` must name at least one key");
    }
    let mut out = Vec::new();
    for (k, val) in entries {
        if let Some(items) = texts(val, &format!("metadata.{}", k.get_ref()), c) {
            out.push((
                k.get_ref().clone(),
                items.into_iter().map(|i| i.0).collect(),
            ));
        }
    }
    out
}

fn amount_condition(
    v: &Spanned<RawValue>,
    currencies: Option<&[String]>,
    c: &mut Checker<'_>,
) -> Option<AmountCondition> {
    let RawValue::Text(text) = v.get_ref() else {
        c.error(
            v,
            format!(
                "`amount` must be a string like \">= 100.00\", not {}",
                v.get_ref().kind()
            ),
        );
        return None;
    };
    let range = match amount::parse(text) {
        Ok(r) => r,
        Err(e) => {
            c.error(v, e);
            return None;
        }
    };
    let Some(currencies) = currencies else {
        c.error(
            v,
            "`amount` is in major units, so the rule needs a `currency` condition too",
        );
        return None;
    };
    let mut by_currency = BTreeMap::new();
    for cur in currencies {
        if paycore_plugin_sdk::money::exponent(cur).is_err() {
            continue; // reported on `currency`
        }
        match range.in_minor(text, cur) {
            Ok(r) => {
                by_currency.insert(cur.clone(), r);
            }
            Err(e) => c.error(v, e),
        }
    }
    Some(AmountCondition {
        text: text.clone(),
        by_currency,
    })
}

/// A scene a rule can test: one a channel is asked for. A `checkout`
/// payment is routed when the payer picks a wallet, under the scene its
/// channel is then asked for, so a rule on `checkout` could never match.
fn rule_scene(text: &str) -> Result<Scene, String> {
    match text.parse::<Scene>() {
        Ok(Scene::Checkout) => Err(
            "`checkout` is paycore's hosted page, not a channel's scene: rules see the scene the channel is asked for once the payer picks a wallet (`qrcode`, or `jsapi` in the wallet's app)".into(),
        ),
        Ok(s) => Ok(s),
        Err(_) => {
            let scenes: Vec<&str> = Scene::ALL
                .iter()
                .filter(|s| s.is_channel_scene())
                .map(|s| s.as_str())
                .collect();
            Err(format!("`{text}` is not one of: {}", scenes.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_test_channel_scenes_only() {
        assert_eq!(rule_scene("qrcode"), Ok(Scene::Qrcode));
        let checkout = rule_scene("checkout").unwrap_err();
        assert!(checkout.contains("hosted page"), "{checkout}");
        let unknown = rule_scene("teleport").unwrap_err();
        assert_eq!(
            unknown,
            "`teleport` is not one of: barcode, qrcode, jsapi, app, h5, web, face"
        );
    }
}
