//! An optional record of what one plugin call did: every HTTP attempt (host,
//! request, answer), every log line, and what the call cost. Collected only
//! when the channel's grant carries a [`Tracer`]; the conformance suite reads
//! it to check a plugin's behaviour and report its figures.

use super::bindings::paycore::channel::{http, types};
use std::sync::Mutex;

/// What one call did, in call order.
#[derive(Debug, Clone, Default)]
pub struct CallTrace {
    /// The exported function, e.g. `pay`.
    pub op: &'static str,
    pub http: Vec<HttpAttempt>,
    /// `(level, message)` as the host logged them.
    pub logs: Vec<(String, String)>,
    /// Instructions executed, when the host counts fuel (`PluginHost::measuring`).
    pub fuel: Option<u64>,
    /// The largest linear memory the call asked for, in bytes.
    pub peak_memory: usize,
    /// Wall-clock time of the whole call, host HTTP included.
    pub millis: f64,
}

/// One `http.send` the plugin made, whether or not the host let it through.
#[derive(Debug, Clone)]
pub struct HttpAttempt {
    /// Lower-case host name of the URL (empty when the URL did not parse).
    pub host: String,
    pub granted: bool,
    pub request: types::HttpRequest,
    pub outcome: Result<types::HttpResponse, http::HttpError>,
}

/// Collects the traces of the calls made with one grant.
#[derive(Debug, Default)]
pub struct Tracer(Mutex<Vec<CallTrace>>);

impl Tracer {
    pub(super) fn push(&self, trace: CallTrace) {
        self.0.lock().expect("tracer lock").push(trace);
    }

    /// The traces collected so far, oldest first; the tracer is left empty.
    pub fn take(&self) -> Vec<CallTrace> {
        std::mem::take(&mut *self.0.lock().expect("tracer lock"))
    }
}
