//! Replaying recorded plugin calls on another plugin version and saying
//! what changed: the engine of `paycore plugin replay` and of the reload
//! pipeline's replay gate (`reload`). Each call meets exactly the host
//! answers it had when recorded (`plugin_host::replay`); only outputs are
//! compared, so a version that builds its requests differently but decides
//! the same passes.

use crate::plugin_host::{CallInput, Plugin, PluginHost, RecordedCall, difference};

/// One call whose output changed.
#[derive(Debug, Clone)]
pub struct Difference {
    /// 1-based position in the recording.
    pub call: usize,
    pub op: &'static str,
    /// The merchant order (or refund) number the call was about.
    pub subject: String,
    /// `- recorded` / `+ replayed` outputs as JSON.
    pub diff: String,
}

#[derive(Debug, Clone)]
pub struct ReplayReport {
    /// `name@version` replayed on.
    pub plugin: String,
    pub calls: usize,
    pub differences: Vec<Difference>,
}

impl ReplayReport {
    pub fn clean(&self) -> bool {
        self.differences.is_empty()
    }

    /// Every difference, then a total line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.differences {
            out.push_str(&format!(
                "call {} ({} {}): the output changed\n{}\n\n",
                d.call, d.op, d.subject, d.diff
            ));
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// One line: how many calls replayed and how many changed.
    pub fn summary(&self) -> String {
        format!(
            "{} recorded calls replayed on {}: {} changed",
            self.calls,
            self.plugin,
            self.differences.len()
        )
    }
}

/// Replays `calls` on `plugin`, one after the other.
pub async fn replay(host: &PluginHost, plugin: &Plugin, calls: &[RecordedCall]) -> ReplayReport {
    let mut differences = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let output = host.replay(plugin, call).await;
        if let Some(diff) = difference(&call.output, &output) {
            differences.push(Difference {
                call: i + 1,
                op: call.input.name(),
                subject: subject(&call.input),
                diff,
            });
        }
    }
    ReplayReport {
        plugin: plugin.label().to_string(),
        calls: calls.len(),
        differences,
    }
}

fn subject(input: &CallInput) -> String {
    match input {
        CallInput::Pay(_, r) | CallInput::HoldTender(_, r, _) => r.merchant_order_no.clone(),
        CallInput::Query(_, p) | CallInput::Close(_, p) | CallInput::Cancel(_, p) => {
            p.merchant_order_no.clone()
        }
        CallInput::Refund(_, r) => r.merchant_refund_no.clone(),
        CallInput::QueryRefund(_, r) => r.merchant_refund_no.clone(),
        CallInput::Callback(_, r) => r.url.clone(),
        CallInput::Statement(_, day, _) => day.clone(),
        CallInput::Manifest => String::new(),
    }
}
