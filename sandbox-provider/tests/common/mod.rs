//! Shared harness: a real provider on 127.0.0.1:0, a signing client, and a
//! notification receiver, all torn down when dropped.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use paycore_sandbox_provider::{Clock, Provider, ProviderConfig};
use serde_json::Value;
use sha2::Sha256;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

pub const M1: &str = "m1";
pub const KEY1: &[u8] = b"sandbox-key-one";
pub const M2: &str = "m2";
pub const KEY2: &[u8] = b"sandbox-key-two";

pub fn hmac_hex(key: &[u8], body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

/// reqwest (rustls without a built-in provider) needs a process-wide crypto
/// provider before any client is built; the runtime installs one at startup,
/// the tests do it here. The provider crate itself never installs one.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Serves `router` on a fresh loopback port until dropped.
pub struct Server {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    pub async fn start(router: Router) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Server { addr, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct Sandbox {
    pub provider: Provider,
    pub server: Server,
    pub http: reqwest::Client,
}

pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub signature: Option<String>,
    pub raw: Bytes,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    pub fn str(&self, field: &str) -> &str {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{field}` in {}", self.body))
    }
}

impl Sandbox {
    pub async fn start() -> Sandbox {
        Sandbox::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut ProviderConfig)) -> Sandbox {
        install_crypto();
        let mut cfg = ProviderConfig {
            public_base: "http://placeholder.invalid".to_string(),
            merchants: HashMap::from([
                (M1.to_string(), KEY1.to_vec()),
                (M2.to_string(), KEY2.to_vec()),
            ]),
            processing_delay: Duration::from_millis(200),
            notify_retry_base: Duration::from_millis(20),
            clock: Clock::system(),
        };
        tweak(&mut cfg);
        let provider = Provider::new(cfg);
        let server = Server::start(Router::new().nest("/sandbox", provider.router())).await;
        // As the runtime does after binding port 0.
        provider.set_public_base(server.url());
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Sandbox {
            provider,
            server,
            http,
        }
    }

    pub fn api_url(&self, op: &str) -> String {
        format!("{}/sandbox/api/v1/{op}", self.server.url())
    }

    /// A correctly signed call as merchant `m1`; the answer's signature is
    /// checked (it must be present and valid for everything but 401).
    pub async fn call(&self, op: &str, body: Value) -> Answer {
        self.call_as(M1, KEY1, op, body).await
    }

    pub async fn call_as(&self, merchant: &str, key: &[u8], op: &str, body: Value) -> Answer {
        let raw = serde_json::to_vec(&body).unwrap();
        let sig = hmac_hex(key, &raw);
        let a = self
            .raw_call(
                op,
                raw,
                &[
                    ("X-Sandbox-Merchant", merchant),
                    ("X-Sandbox-Signature", &sig),
                ],
            )
            .await;
        if a.status != StatusCode::UNAUTHORIZED {
            let s = a
                .signature
                .as_deref()
                .unwrap_or_else(|| panic!("unsigned {} answer: {}", a.status, a.body));
            assert_eq!(
                s,
                hmac_hex(key, &a.raw),
                "answer signature must cover the raw body"
            );
        }
        a
    }

    pub async fn raw_call(&self, op: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Answer {
        let mut req = self
            .http
            .post(self.api_url(op))
            .header("Content-Type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let signature = resp
            .headers()
            .get("x-sandbox-signature")
            .map(|v| v.to_str().unwrap().to_string());
        let raw = resp.bytes().await.unwrap();
        let body = serde_json::from_slice(&raw)
            .unwrap_or_else(|e| panic!("non-JSON answer {status}: {e}"));
        Answer {
            status,
            body,
            signature,
            raw,
        }
    }

    /// A provider whose wall clock is `clock`.
    pub async fn at(clock: &TestClock) -> Sandbox {
        let clock = clock.clock();
        Sandbox::with(|c| c.clock = clock).await
    }

    pub async fn query(&self, out_trade_no: &str) -> Answer {
        self.call("query", serde_json::json!({ "out_trade_no": out_trade_no }))
            .await
    }
}

/// A wall clock the test sets by hand, to date payments on a day that has
/// since ended.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<OffsetDateTime>>);

impl TestClock {
    pub fn at(t: OffsetDateTime) -> TestClock {
        TestClock(Arc::new(Mutex::new(t)))
    }

    pub fn set(&self, t: OffsetDateTime) {
        *self.0.lock().unwrap() = t;
    }

    /// The provider's view of it.
    pub fn clock(&self) -> Clock {
        let now = self.0.clone();
        Clock::from_fn(move || *now.lock().unwrap())
    }
}

/// A fresh temporary folder, removed when dropped.
pub struct Folder(pub std::path::PathBuf);

impl Folder {
    pub fn new(name: &str) -> Folder {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "paycore-sandbox-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A barcode payment body.
pub fn barcode(out_trade_no: &str, amount: &str, currency: &str, auth_code: &str) -> Value {
    serde_json::json!({
        "out_trade_no": out_trade_no,
        "amount": amount,
        "currency": currency,
        "scene": "barcode",
        "auth_code": auth_code,
        "subject": "2 x latte",
    })
}

/// Polls `f` every 20 ms until it yields `Some`, for at most 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the notification receiver saw.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A merchant-side receiver for notifications on loopback that fails the
/// first `failures` deliveries with 500, then answers `{"code":"SUCCESS"}`.
pub struct Receiver {
    pub server: Server,
    pub seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(failures: usize) -> Receiver {
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = seen.clone();
        let router = Router::new().route(
            "/notify",
            post(move |headers: HeaderMap, body: Bytes| {
                let log = log.clone();
                async move {
                    let n = {
                        let mut l = log.lock().unwrap();
                        l.push(Received { headers, body });
                        l.len()
                    };
                    if n <= failures {
                        (StatusCode::INTERNAL_SERVER_ERROR, "boom".to_string())
                    } else {
                        (StatusCode::OK, r#"{"code":"SUCCESS"}"#.to_string())
                    }
                }
            }),
        );
        Receiver {
            server: Server::start(router).await,
            seen,
        }
    }

    pub fn url(&self) -> String {
        format!("{}/notify", self.server.url())
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn all(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}
