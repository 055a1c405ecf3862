//! Recording a channel's plugin calls: each call's input, every host call
//! with the host's answer, and its output, so another version of the
//! plugin can be replayed against exactly the same conversation (`replay`).
//!
//! A recording is switched on per tenant channel: to a file on demand
//! (`POST /admin/channels/{tenant}/{channel}/recording`), and in memory for
//! the last calls of channels whose upgrades must first replay cleanly.
//! Secrets never enter a plugin, so they cannot be in its calls; every
//! recorded line is still scrubbed of the channel's secret values, in any
//! of the forms they could take, before it is kept.

use super::trace::{CallInput, CallOutput, CallTrace, HostCall};
use crate::config::SecretValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One recorded call, as a line of a recording file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedCall {
    /// `name@version` of the plugin that served it.
    pub plugin: String,
    pub tenant: String,
    pub channel: String,
    pub input: CallInput,
    pub host_calls: Vec<HostCall>,
    pub output: CallOutput,
}

type Key = (String, String);

#[derive(Default)]
struct Recording {
    file: Option<(PathBuf, usize)>,
    recent: VecDeque<RecordedCall>,
    keep: usize,
}

/// A recording file that cannot be started: its folder or the file itself
/// cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}", .path.display())]
pub struct RecordingFileError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

/// A recording file that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadRecordingError {
    #[error("cannot read {}: {error}", .path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A line (1-based, blank lines not counted) that is not a recorded call.
    #[error("{}:{line}: {error}", .path.display())]
    Line {
        path: PathBuf,
        line: usize,
        error: serde_json::Error,
    },
}

/// The recordings running in one host.
#[derive(Default)]
pub struct Recordings(Mutex<HashMap<Key, Recording>>);

impl Recordings {
    fn key(tenant: &str, channel: &str) -> Key {
        (tenant.to_string(), channel.to_string())
    }

    pub(super) fn wants(&self, tenant: &str, channel: &str) -> bool {
        if tenant.is_empty() {
            return false;
        }
        let all = self.0.lock().expect("recordings lock");
        all.get(&Self::key(tenant, channel))
            .is_some_and(|r| r.file.is_some() || r.keep > 0)
    }

    /// Starts writing the channel's calls to `file` (created or emptied).
    pub fn start(
        &self,
        tenant: &str,
        channel: &str,
        file: PathBuf,
    ) -> Result<(), RecordingFileError> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|error| RecordingFileError {
                path: dir.to_path_buf(),
                error,
            })?;
        }
        std::fs::write(&file, b"").map_err(|error| RecordingFileError {
            path: file.clone(),
            error,
        })?;
        let mut all = self.0.lock().expect("recordings lock");
        all.entry(Self::key(tenant, channel)).or_default().file = Some((file, 0));
        Ok(())
    }

    /// Stops the file recording; answers the file and how many calls it holds.
    pub fn stop(&self, tenant: &str, channel: &str) -> Option<(PathBuf, usize)> {
        let mut all = self.0.lock().expect("recordings lock");
        all.get_mut(&Self::key(tenant, channel))?.file.take()
    }

    /// Keeps the last `n` calls in memory for each `(tenant, channel, n)`
    /// (and for no other channel).
    pub fn keep_recent(&self, channels: &[(String, String, usize)]) {
        let mut all = self.0.lock().expect("recordings lock");
        for (key, r) in all.iter_mut() {
            if !channels.iter().any(|(t, c, _)| (t, c) == (&key.0, &key.1)) {
                r.keep = 0;
                r.recent.clear();
            }
        }
        for (tenant, channel, n) in channels {
            let r = all.entry(Self::key(tenant, channel)).or_default();
            r.keep = *n;
            while r.recent.len() > r.keep {
                r.recent.pop_front();
            }
        }
    }

    /// The channel's recent calls, oldest first.
    pub fn recent(&self, tenant: &str, channel: &str) -> Vec<RecordedCall> {
        let all = self.0.lock().expect("recordings lock");
        all.get(&Self::key(tenant, channel))
            .map(|r| r.recent.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(super) fn record(
        &self,
        plugin: &str,
        tenant: &str,
        channel: &str,
        trace: &CallTrace,
        secrets: &BTreeMap<String, SecretValue>,
    ) {
        let (Some(input), Some(output)) = (&trace.input, &trace.output) else {
            return;
        };
        let call = RecordedCall {
            plugin: plugin.to_string(),
            tenant: tenant.to_string(),
            channel: channel.to_string(),
            input: input.clone(),
            host_calls: trace.calls.clone(),
            output: output.clone(),
        };
        let line = match to_line(&call, secrets) {
            Ok(line) => line,
            Err(e) => {
                tracing::warn!(error = %e, "cannot record a plugin call");
                return;
            }
        };
        let mut all = self.0.lock().expect("recordings lock");
        let Some(r) = all.get_mut(&Self::key(tenant, channel)) else {
            return;
        };
        if let Some((file, written)) = &mut r.file {
            match append(file, &line) {
                Ok(()) => *written += 1,
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "cannot write the recording")
                }
            }
        }
        if r.keep > 0 {
            // The scrubbed form, as a file would hold it.
            if let Ok(call) = from_line(&line) {
                r.recent.push_back(call);
            }
            while r.recent.len() > r.keep {
                r.recent.pop_front();
            }
        }
    }
}

fn append(file: &Path, line: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().append(true).open(file)?;
    writeln!(f, "{line}")
}

/// One JSON line: HTTP bodies as text (base64 when not UTF-8), secrets
/// replaced by `<redacted:NAME>`.
pub fn to_line(
    call: &RecordedCall,
    secrets: &BTreeMap<String, SecretValue>,
) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(call)?;
    bodies(&mut value, true);
    let mut line = serde_json::to_string(&value)?;
    for (name, secret) in secrets {
        for form in secret_forms(secret.expose()) {
            line = line.replace(&form, &format!("<redacted:{name}>"));
        }
    }
    Ok(line)
}

pub fn from_line(line: &str) -> Result<RecordedCall, serde_json::Error> {
    let mut value: Value = serde_json::from_str(line)?;
    bodies(&mut value, false);
    serde_json::from_value(value)
}

/// Reads a recording file: one call per line.
pub fn read_file(path: &Path) -> Result<Vec<RecordedCall>, ReadRecordingError> {
    let text = std::fs::read_to_string(path).map_err(|error| ReadRecordingError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            from_line(l).map_err(|error| ReadRecordingError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                error,
            })
        })
        .collect()
}

/// `body` fields (lists of bytes in the contract) as readable text and back.
fn bodies(value: &mut Value, to_text: bool) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "body" {
                    if to_text && let Value::Array(items) = v {
                        let bytes: Vec<u8> = items
                            .iter()
                            .filter_map(|b| b.as_u64().map(|b| b as u8))
                            .collect();
                        *v = match String::from_utf8(bytes) {
                            Ok(text) => Value::String(text),
                            Err(e) => Value::Object(serde_json::Map::from_iter([(
                                "base64".to_string(),
                                Value::String(b64.encode(e.as_bytes())),
                            )])),
                        };
                        continue;
                    }
                    if !to_text {
                        let bytes = match v {
                            Value::String(text) => Some(text.as_bytes().to_vec()),
                            Value::Object(o) => o
                                .get("base64")
                                .and_then(Value::as_str)
                                .and_then(|t| b64.decode(t).ok()),
                            _ => None,
                        };
                        if let Some(bytes) = bytes {
                            *v = Value::Array(bytes.into_iter().map(Value::from).collect());
                            continue;
                        }
                    }
                }
                bodies(v, to_text);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| bodies(v, to_text)),
        _ => {}
    }
}

/// How a secret could show up: as it is, in hex, in base64, or a PEM's
/// body lines.
pub fn secret_forms(value: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    let mut forms = vec![
        hex::encode(value),
        base64::engine::general_purpose::STANDARD.encode(value),
    ];
    if let Ok(text) = std::str::from_utf8(value) {
        forms.push(text.trim().to_string());
        forms.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
                .map(str::to_string),
        );
    }
    // Short values would match innocent text; longest first, so a whole
    // secret is replaced before any part of it.
    forms.retain(|f| f.len() >= 8);
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin_host::bindings::paycore::channel::types as wit;

    fn call(body: &str) -> RecordedCall {
        let ctx = wit::CallContext {
            tenant: "t".into(),
            channel: "c".into(),
            settings: vec![],
            notify_url: String::new(),
        };
        RecordedCall {
            plugin: "p@1.0.0".into(),
            tenant: "t".into(),
            channel: "c".into(),
            input: CallInput::Callback(
                ctx,
                wit::HttpRequest {
                    method: "POST".into(),
                    url: "/".into(),
                    headers: vec![],
                    body: body.as_bytes().to_vec(),
                },
            ),
            host_calls: vec![HostCall::Clock { millis: 1 }],
            output: CallOutput::Failed("trap".into()),
        }
    }

    #[test]
    fn lines_keep_bodies_readable_and_round_trip() {
        let line = to_line(&call(r#"{"a":1}"#), &BTreeMap::new()).unwrap();
        assert!(line.contains(r#""body":"{\"a\":1}""#), "{line}");
        let back = from_line(&line).unwrap();
        assert_eq!(to_line(&back, &BTreeMap::new()).unwrap(), line);
    }

    #[test]
    fn secret_values_are_redacted_in_every_form() {
        let secret = b"super-secret-key".to_vec();
        let secrets = BTreeMap::from([("api_key".to_string(), SecretValue::new(secret.clone()))]);
        let body = format!("plain super-secret-key hex {}", hex::encode(&secret));
        let line = to_line(&call(&body), &secrets).unwrap();
        assert!(!line.contains("super-secret-key"), "{line}");
        assert!(!line.contains(&hex::encode(&secret)), "{line}");
        assert_eq!(line.matches("<redacted:api_key>").count(), 2, "{line}");
    }
}
