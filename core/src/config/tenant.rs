//! One tenant's settings: its keys, limits, hosted checkout and routing
//! (the rules themselves are `rules`), and the validation of a tenant file.

use super::channel::{ChannelConfig, check_channel};
use super::checker::Checker;
use super::raw::{RawApiKey, RawTenant};
use super::secrets::{SecretUse, SecretValue};
use std::collections::HashSet;
use std::path::PathBuf;
use toml::Spanned;

#[derive(Debug, Clone)]
pub struct TenantConfig {
    pub id: crate::domain::TenantId,
    pub name: String,
    pub source: PathBuf,
    /// Digests of the accepted keys (see `config::api_keys`).
    pub api_keys: Vec<super::api_keys::ApiKey>,
    pub webhook_secret: Option<SecretValue>,
    pub notify_url: Option<String>,
    pub channels: Vec<ChannelConfig>,
    /// The tenant's local time zone, for rules' `days` and `hours`.
    pub timezone: jiff::tz::TimeZone,
    /// In file order; never empty (a tenant without rules gets an implicit
    /// default that tries every channel in config order).
    pub rules: Vec<crate::routing::Rule>,
    pub breaker: crate::routing::BreakerConfig,
    pub limits: TenantLimits,
    pub checkout: CheckoutSettings,
    /// The closed-loop value it issues, in file order.
    pub card_programs: Vec<super::card_programs::CardProgram>,
    /// Which tenders a partial refund of a combined order goes back to
    /// first (docs/tenders.md).
    pub combined_refunds_first: RefundsFirst,
}

/// Which tenders a partial refund of a combined order goes back to first;
/// coupons come back only with the whole order, whichever it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefundsFirst {
    /// The wallet payment, then the cards in the order's order.
    #[default]
    External,
    /// The cards, then the wallet payment.
    Card,
}

/// The hosted cashier page's settings for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSettings {
    pub display_name: String,
    /// The most a payer may type on an aggregate QR page, in major units.
    pub max_entered_amount: rust_decimal::Decimal,
}

/// Without `[checkout] max_entered_amount`, in major units of the code's currency.
pub const DEFAULT_MAX_ENTERED_AMOUNT: rust_decimal::Decimal =
    rust_decimal::Decimal::from_parts(10_000, 0, 0, false, 0);

/// How much of the shared runtime one tenant may take (see `http::fairness`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantLimits {
    /// `None`: no rate limit.
    pub rate: Option<TenantRate>,
    pub max_concurrent_requests: u32,
    /// Callbacks to this tenant's channels (they carry no key).
    pub callbacks: TenantRate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantRate {
    pub per_second: u32,
    pub burst: u32,
}

/// Without `[limits]`, no rate limit and at most this many requests of one
/// tenant in progress at once.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: u32 = 256;
/// Without `[limits]`, callbacks per second per tenant (bursts of twice as many).
pub const DEFAULT_CALLBACKS_PER_SECOND: u32 = 100;

impl Default for TenantLimits {
    fn default() -> Self {
        TenantLimits {
            rate: None,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            callbacks: TenantRate {
                per_second: DEFAULT_CALLBACKS_PER_SECOND,
                burst: 2 * DEFAULT_CALLBACKS_PER_SECOND,
            },
        }
    }
}

pub(super) fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The tenant as validated: complete when no problem was added to `c`,
/// otherwise with what validated (channels in error left out).
pub(super) fn check_tenant(raw: &RawTenant, c: &mut Checker<'_>) -> TenantConfig {
    if !valid_id(raw.id.get_ref()) {
        c.error(
            &raw.id,
            "tenant id must be 1-64 characters of a-z, 0-9, '-' or '_'",
        );
    }
    if raw.api_keys.get_ref().is_empty() {
        c.error(&raw.api_keys, "a tenant needs at least one API key");
    }
    let mut api_keys = Vec::new();
    for key in raw.api_keys.get_ref() {
        let digest = match super::api_keys::parse(key.get_ref().key()) {
            Ok(d) => d,
            Err(message) => {
                c.error(key, message);
                continue;
            }
        };
        let expires_at = match key.get_ref() {
            RawApiKey::Key(_) => None,
            RawApiKey::Expiring { expires_at, .. } => {
                match expires_at.parse::<jiff::Timestamp>() {
                    Ok(at) => Some(at),
                    Err(e) => {
                        c.error(key, format!("`expires_at` is not an RFC 3339 time like 2026-12-31T00:00:00Z: {e}"));
                        continue;
                    }
                }
            }
        };
        api_keys.push(super::api_keys::ApiKey { digest, expires_at });
    }
    let webhook_secret = raw
        .webhook_secret
        .as_ref()
        .and_then(|s| c.secret(s, SecretUse::WebhookSecret));
    let notify_url = raw.notify_url.as_ref().and_then(|u| c.url(u));
    let mut channel_ids = HashSet::new();
    let mut channels = Vec::new();
    for ch in &raw.channels {
        if !channel_ids.insert(ch.id.get_ref().clone()) {
            c.error(
                &ch.id,
                format!("channel `{}` is defined twice", ch.id.get_ref()),
            );
        }
        if let Some(ch) = check_channel(ch, c) {
            channels.push(ch);
        }
    }
    let timezone = super::rules::timezone(raw.timezone.as_ref(), c);
    let breaker = super::rules::breaker(raw.breaker.as_ref(), c);
    let limits = tenant_limits(raw.limits.as_ref(), c);
    let name = raw.name.clone().unwrap_or_else(|| raw.id.get_ref().clone());
    let checkout = checkout_settings(raw.checkout.as_ref(), &name, c);
    let ids: Vec<&str> = raw
        .channels
        .iter()
        .map(|ch| ch.id.get_ref().as_str())
        .collect();
    let rules = super::rules::rules(&raw.rules, &ids, c);
    let card_programs = super::card_programs::card_programs(&raw.card_programs, &ids, c);
    let combined_refunds_first = match raw.combined_refunds_first.as_ref() {
        None => RefundsFirst::default(),
        Some(v) => match v.get_ref().as_str() {
            "external" => RefundsFirst::External,
            "card" => RefundsFirst::Card,
            other => {
                c.error(
                    v,
                    format!(
                        "`combined_refunds_first` is \"external\" or \"card\", not \"{other}\""
                    ),
                );
                RefundsFirst::default()
            }
        },
    };
    TenantConfig {
        id: raw.id.get_ref().clone().into(),
        name,
        source: c.file.to_path_buf(),
        api_keys,
        webhook_secret,
        notify_url,
        channels,
        timezone,
        rules,
        breaker,
        limits,
        checkout,
        card_programs,
        combined_refunds_first,
    }
}

fn checkout_settings(
    raw: Option<&super::raw::RawCheckout>,
    name: &str,
    c: &mut Checker<'_>,
) -> CheckoutSettings {
    let mut settings = CheckoutSettings {
        display_name: name.to_string(),
        max_entered_amount: DEFAULT_MAX_ENTERED_AMOUNT,
    };
    let Some(raw) = raw else {
        return settings;
    };
    if let Some(n) = &raw.display_name {
        let text = n.get_ref().trim();
        if text.is_empty() || text.chars().count() > 64 {
            c.error(n, "`display_name` must be 1-64 characters");
        } else {
            settings.display_name = text.to_string();
        }
    }
    if let Some(max) = &raw.max_entered_amount {
        let text = max.get_ref();
        let plain = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && text.bytes().filter(|b| *b == b'.').count() <= 1
            && !text.starts_with('.')
            && !text.ends_with('.');
        match text.parse::<rust_decimal::Decimal>() {
            Ok(d) if plain && d > rust_decimal::Decimal::ZERO => settings.max_entered_amount = d,
            _ => c.error(
                max,
                "`max_entered_amount` must be a positive decimal in major units, like \"2000.00\"",
            ),
        }
    }
    settings
}

fn tenant_limits(
    raw: Option<&Spanned<super::raw::RawTenantLimits>>,
    c: &mut Checker<'_>,
) -> TenantLimits {
    let Some(raw) = raw.map(Spanned::get_ref) else {
        return TenantLimits::default();
    };
    let rate = raw.requests_per_second.as_ref().map(|rps| {
        let per_second = c.bounded(&Some(rps.clone()), 1, 1, 1_000_000) as u32;
        let burst = c.bounded(&raw.burst, u64::from(per_second), 1, 1_000_000) as u32;
        TenantRate { per_second, burst }
    });
    // A `requests_per_second` of the wrong type was reported where it is.
    if rate.is_none()
        && !c.was_taken_out("limits.requests_per_second")
        && let Some(burst) = &raw.burst
    {
        c.error(burst, "`burst` needs `requests_per_second`");
    }
    let callbacks_per_second = c.bounded(
        &raw.callbacks_per_second,
        u64::from(DEFAULT_CALLBACKS_PER_SECOND),
        1,
        1_000_000,
    ) as u32;
    TenantLimits {
        rate,
        callbacks: TenantRate {
            per_second: callbacks_per_second,
            burst: 2 * callbacks_per_second,
        },
        max_concurrent_requests: c.bounded(
            &raw.max_concurrent_requests,
            u64::from(DEFAULT_MAX_CONCURRENT_REQUESTS),
            1,
            100_000,
        ) as u32,
    }
}
