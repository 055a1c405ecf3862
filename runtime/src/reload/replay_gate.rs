//! Recording channels' calls, and the replay gate: a new plugin version
//! whose replay of a gated channel's recent calls (`replay_before_upgrade`)
//! changes an outcome is held until the operator approves it.

use super::{Live, PluginState, PluginStatus, Reloader};
use crate::config::{self, TenantConfig};
use crate::plugin_host::RecordingFileError;
use crate::reload::Decisions;
use std::path::{Path, PathBuf};

/// Why a channel's recording cannot start or stop.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("tenant `{tenant}` has no channel `{channel}`")]
    NoSuchChannel { tenant: String, channel: String },
    #[error(transparent)]
    File(#[from] RecordingFileError),
    #[error("channel `{channel}` of tenant `{tenant}` is not being recorded")]
    NotRecording { tenant: String, channel: String },
}

impl Reloader {
    /// Starts recording a channel's plugin calls to a new file under
    /// `recordings/` beside the config; answers the file.
    pub fn start_recording(&self, tenant: &str, channel: &str) -> Result<PathBuf, RecordingError> {
        let registry = self.payments.registry();
        registry
            .tenant(tenant)
            .and_then(|t| t.channel(channel))
            .ok_or_else(|| RecordingError::NoSuchChannel {
                tenant: tenant.to_string(),
                channel: channel.to_string(),
            })?;
        let dir = self.config_file.parent().unwrap_or(Path::new("."));
        let file = dir.join("recordings").join(format!(
            "{tenant}-{channel}-{}.jsonl",
            crate::domain::now_millis()
        ));
        self.host
            .recordings()
            .start(tenant, channel, file.clone())?;
        Ok(file)
    }

    /// Stops a channel's recording; answers the file and its number of calls.
    pub fn stop_recording(
        &self,
        tenant: &str,
        channel: &str,
    ) -> Result<(PathBuf, usize), RecordingError> {
        self.host
            .recordings()
            .stop(tenant, channel)
            .ok_or_else(|| RecordingError::NotRecording {
                tenant: tenant.to_string(),
                channel: channel.to_string(),
            })
    }

    /// Holds a new plugin version whose replay of a gated channel's recent
    /// calls (`replay_before_upgrade`) changes an outcome, with the diff as
    /// the reason, until the operator approves it. Also tells the host which
    /// channels keep recent calls.
    pub(super) async fn replay_gate(
        &self,
        candidates: Vec<Live>,
        tenants: &[TenantConfig],
        previous: &[Live],
        decisions: &Decisions,
    ) -> (Vec<Live>, Vec<PluginStatus>) {
        let gated: Vec<(&str, &config::ChannelConfig)> = tenants
            .iter()
            .flat_map(|t| t.channels.iter().map(move |c| (t.id.as_str(), c)))
            .filter(|(_, c)| c.replay_before_upgrade > 0)
            .collect();
        self.host.recordings().keep_recent(
            &gated
                .iter()
                .map(|(t, c)| (t.to_string(), c.id.clone(), c.replay_before_upgrade))
                .collect::<Vec<_>>(),
        );
        let mut live = Vec::new();
        let mut held = Vec::new();
        for l in candidates {
            let p = &l.plugin;
            let new = !previous.iter().any(|old| old.plugin.digest == p.digest);
            let mut changed = Vec::new();
            if new && !decisions.is_approved(p.label(), &p.digest) {
                for (tenant, c) in gated.iter().filter(|(_, c)| {
                    c.plugin_name == p.manifest.name && c.plugin_req.matches(&p.manifest.version)
                }) {
                    let calls: Vec<_> = self
                        .host
                        .recordings()
                        .recent(tenant, &c.id)
                        .into_iter()
                        .filter(|call| call.plugin != p.label())
                        .collect();
                    if calls.is_empty() {
                        continue;
                    }
                    let report = crate::replay::replay(&self.host, p, &calls).await;
                    if !report.clean() {
                        let first = &report.differences[0];
                        changed.push(format!(
                            "channel {tenant}/{}: {}; first, call {} ({} {}):\n{}",
                            c.id,
                            report.summary(),
                            first.call,
                            first.op,
                            first.subject,
                            first.diff
                        ));
                    }
                }
            }
            if changed.is_empty() {
                live.push(l);
            } else {
                held.push(PluginStatus {
                    reason: Some(format!(
                        "replaying recent traffic changed outcomes; approve with `paycore plugin approve {}` to serve anyway. {}",
                        p.label(),
                        changed.join(" ")
                    )),
                    ..PluginStatus::of(p, &l.file, PluginState::HeldByReplay, None)
                });
            }
        }
        (live, held)
    }
}
