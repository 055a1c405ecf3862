//! The sandbox provider behind a gate the test holds: a loopback HTTP
//! forwarder between a tenant's sandbox channel and paycore's own
//! `/sandbox`, which logs every operation it carries and holds the
//! operations a test names until the test releases them. A test can then
//! look at the state between two channel calls (the sweeper's query and its
//! cancel, a pay call and the sweeper's first query) without racing a timer.

use crate::{TenantToml, TestApp, WEBHOOK_SECRET};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};

/// The API key of the tenant [`SandboxGate::tenant`] writes.
pub const GATED_KEY: &str = "sk_test_gated";

/// One operation that reached the gate.
#[derive(Debug, Clone)]
pub struct GatedCall {
    /// The sandbox operation (`pay`, `query`, `cancel`, …).
    pub operation: String,
    /// When it arrived (unix ms, the clock paycore reads).
    pub at_ms: i64,
}

pub struct SandboxGate {
    port: u16,
    /// paycore's base URL, known once the app started.
    target: Arc<OnceLock<String>>,
    calls: Arc<Mutex<Vec<GatedCall>>>,
    held: tokio::sync::watch::Sender<BTreeSet<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl SandboxGate {
    /// Listens on a fresh loopback port; nothing is held yet. Requests wait
    /// for [`SandboxGate::connect`] to name where paycore listens.
    pub async fn start() -> SandboxGate {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target: Arc<OnceLock<String>> = Arc::default();
        let calls: Arc<Mutex<Vec<GatedCall>>> = Arc::default();
        let (held, _) = tokio::sync::watch::channel(BTreeSet::new());
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        let (t, c, h) = (target.clone(), calls.clone(), held.clone());
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (target, calls, held, client) =
                    (t.clone(), c.clone(), h.clone(), client.clone());
                async move {
                    let path = uri.path().to_string();
                    let operation = path.rsplit('/').next().unwrap_or_default().to_string();
                    calls.lock().unwrap().push(GatedCall {
                        operation: operation.clone(),
                        at_ms: paycore::domain::now_millis(),
                    });
                    let mut released = held.subscribe();
                    let _ = released.wait_for(|h| !h.contains(&operation)).await;
                    let Some(base) = target.get() else {
                        return (StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::new());
                    };
                    let mut forwarded = headers.clone();
                    forwarded.remove("host");
                    forwarded.remove("content-length");
                    let answer = client
                        .request(method, format!("{base}{path}"))
                        .headers(forwarded)
                        .body(body)
                        .send()
                        .await;
                    let Ok(answer) = answer else {
                        return (StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::new());
                    };
                    let status = answer.status();
                    let mut headers = answer.headers().clone();
                    headers.remove("content-length");
                    headers.remove("transfer-encoding");
                    let body = answer.bytes().await.unwrap_or_default();
                    (status, headers, body)
                }
            },
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SandboxGate {
            port,
            target,
            calls,
            held,
            task,
        }
    }

    /// The `gated` tenant: the standard sandbox channel (the demo tenant's
    /// provider merchant and key), reached through this gate. For
    /// [`crate::Extra::tenants`].
    pub fn tenant(&self) -> (String, String) {
        let gate = format!("http://127.0.0.1:{}/sandbox", self.port);
        TenantToml::sandbox("gated", GATED_KEY)
            .webhooks(&format!("inline:{WEBHOOK_SECRET}"), "{hook_url}")
            .channel(|c| c.base_url(&gate))
            .file()
    }

    /// Forwards to the provider of `app` from now on.
    pub fn connect(&self, app: &TestApp) {
        self.target
            .set(app.base.clone())
            .expect("the gate is connected once");
    }

    /// Holds every `operation` that arrives from now on (and any waiting)
    /// until [`SandboxGate::release`].
    pub fn hold(&self, operation: &str) {
        self.held.send_modify(|h| {
            h.insert(operation.to_string());
        });
    }

    /// Lets `operation` through again, the ones held included.
    pub fn release(&self, operation: &str) {
        self.held.send_modify(|h| {
            h.remove(operation);
        });
    }

    /// Every operation that reached the gate so far, in order of arrival
    /// (held ones included).
    pub fn calls(&self) -> Vec<GatedCall> {
        self.calls.lock().unwrap().clone()
    }
}

impl Drop for SandboxGate {
    fn drop(&mut self) {
        self.held.send_modify(BTreeSet::clear);
        self.task.abort();
    }
}
