//! A tenant's channels: which plugin serves each (a semver range, an
//! optional canary version), its settings and secrets.

use super::checker::Checker;
use super::diagnostics::ConfigError;
use super::raw::RawChannel;
use super::secrets::{SecretUse, SecretValue};
use super::tenant::valid_id;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct ChannelConfig {
    pub id: String,
    pub plugin_name: String,
    pub plugin_req: semver::VersionReq,
    /// Where `plugin = ...` is written, for errors found once plugins load.
    pub plugin_location: ConfigError,
    pub allowed_hosts: Vec<String>,
    pub settings: BTreeMap<String, String>,
    /// Where each setting's value is written, for errors found once the
    /// plugin says what the setting must be.
    pub setting_locations: BTreeMap<String, ConfigError>,
    pub secrets: BTreeMap<String, SecretValue>,
    pub enabled: bool,
    pub canary: Option<Canary>,
    /// Recent calls kept and replayed on a new version of the plugin before
    /// it may serve this channel (0: no replay).
    pub replay_before_upgrade: usize,
    /// Only this build (sha256, hex) may serve the channel.
    pub plugin_sha256: Option<String>,
    /// When, in the tenant's time zone, yesterday's statement is
    /// reconciled each day (docs/reconciliation.md); never if `None`.
    pub reconcile_at: Option<jiff::civil::Time>,
}

/// A share of a channel's payments on one exact plugin version, chosen per
/// merchant order number (a retried order lands on the same version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    pub version: semver::Version,
    /// 1–99.
    pub percent: u8,
}

pub(super) fn check_channel(raw: &RawChannel, c: &mut Checker<'_>) -> Option<ChannelConfig> {
    let before = c.errors.0.len();
    if !valid_id(raw.id.get_ref()) {
        c.error(
            &raw.id,
            "channel id must be 1-64 characters of a-z, 0-9, '-' or '_'",
        );
    }
    let (plugin_name, plugin_req) = match parse_plugin_ref(raw.plugin.get_ref()) {
        Ok(v) => v,
        Err(message) => {
            c.error(&raw.plugin, message);
            (String::new(), semver::VersionReq::STAR)
        }
    };
    for host in &raw.allowed_hosts {
        let h = host.get_ref();
        if h.is_empty() || h.contains('/') || h.contains(' ') {
            c.error(
                host,
                "a host is a bare name or IP, like `openapi.alipay.com` or `127.0.0.1`",
            );
        }
    }
    let mut secrets = BTreeMap::new();
    for (name, reference) in &raw.secrets {
        if let Some(v) = c.secret(reference, SecretUse::Key) {
            secrets.insert(name.clone(), v);
        }
    }
    let canary = raw.canary.as_ref().and_then(|canary| {
        let canary = canary.get_ref();
        let version = semver::Version::parse(canary.version.get_ref())
            .map_err(|e| {
                c.error(
                    &canary.version,
                    format!("`{}` is not a version: {e}", canary.version.get_ref()),
                )
            })
            .ok();
        let percent = *canary.percent.get_ref();
        if !(1..=99).contains(&percent) {
            c.error(&canary.percent, "must be between 1 and 99");
        }
        if let Some(v) = &version
            && !plugin_req.matches(v)
        {
            c.error(
                &canary.version,
                format!("{v} is outside the channel's range `{plugin_req}`"),
            );
        }
        version.map(|version| Canary {
            version,
            percent: percent.clamp(1, 99) as u8,
        })
    });
    let replay_before_upgrade = match &raw.replay_before_upgrade {
        Some(n) if *n.get_ref() > 1000 => {
            c.error(n, "at most 1000 recent calls are kept for replay");
            0
        }
        Some(n) => *n.get_ref() as usize,
        None => 0,
    };
    let plugin_sha256 = raw.plugin_sha256.as_ref().and_then(|pin| {
        let hex_digest = pin
            .get_ref()
            .trim_start_matches("sha256:")
            .to_ascii_lowercase();
        if hex_digest.len() != 64 || !hex_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            c.error(
                pin,
                "a pin is the plugin's sha256: 64 hex digits (see `paycore plugin inspect`)",
            );
            return None;
        }
        if raw.canary.is_some() {
            c.error(pin, "a pinned channel cannot also have a canary");
        }
        Some(hex_digest)
    });
    let reconcile_at = raw.reconcile_at.as_ref().and_then(|at| {
        let time = local_time(at.get_ref());
        if time.is_none() {
            c.error(
                at,
                format!(
                    "`{}` is not a time of day: write `HH:MM`, e.g. `10:00` (statements come out in the morning)",
                    at.get_ref()
                ),
            );
        }
        time
    });
    let plugin_location = ConfigError::at(c.file, c.source, Some(raw.plugin.span()), "");
    (c.errors.0.len() == before).then(|| ChannelConfig {
        id: raw.id.get_ref().clone(),
        plugin_name,
        plugin_req,
        plugin_location,
        allowed_hosts: raw
            .allowed_hosts
            .iter()
            .map(|h| h.get_ref().to_ascii_lowercase())
            .collect(),
        settings: raw
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.get_ref().clone()))
            .collect(),
        setting_locations: raw
            .settings
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    ConfigError::at(c.file, c.source, Some(v.span()), ""),
                )
            })
            .collect(),
        secrets,
        enabled: raw.enabled,
        canary,
        replay_before_upgrade,
        plugin_sha256,
        reconcile_at,
    })
}

/// `HH:MM`, two digits each, 00:00–23:59.
fn local_time(text: &str) -> Option<jiff::civil::Time> {
    let (hours, minutes) = text.split_once(':')?;
    let two_digits = |s: &str| {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i8>().ok())
            .flatten()
    };
    let (hours, minutes) = (two_digits(hours)?, two_digits(minutes)?);
    jiff::civil::Time::new(hours, minutes, 0, 0).ok()
}

pub(super) fn parse_plugin_ref(text: &str) -> Result<(String, semver::VersionReq), String> {
    let (name, req) = text.split_once('@').unwrap_or((text, "*"));
    if !valid_id(name) {
        return Err(format!(
            "`{text}`: expected `name@version-range`, like `alipay@^1.2`"
        ));
    }
    let req = semver::VersionReq::parse(req)
        .map_err(|e| format!("`{req}` is not a semver range: {e}"))?;
    Ok((name.to_string(), req))
}

#[cfg(test)]
mod tests {
    use super::local_time;

    #[test]
    fn reconcile_at_is_a_time_of_day_in_two_digit_fields() {
        assert_eq!(local_time("10:00"), Some(jiff::civil::time(10, 0, 0, 0)));
        assert_eq!(local_time("00:00"), Some(jiff::civil::time(0, 0, 0, 0)));
        assert_eq!(local_time("23:59"), Some(jiff::civil::time(23, 59, 0, 0)));
        for bad in [
            "24:00", "9:00", "09:60", "0900", "09:00:00", "", "ab:cd", "-1:00",
        ] {
            assert_eq!(local_time(bad), None, "{bad}");
        }
    }
}
