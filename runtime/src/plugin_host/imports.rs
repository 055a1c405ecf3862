//! What a plugin can ask of the host during one call: HTTP to granted hosts,
//! crypto with keys it names but never sees, logging and the clock.

use super::bindings::paycore::channel::{clock, crypto, http, log, types};
use super::crypto::KeyRing;
use super::trace::{Base64, CallTrace, HostCall, HttpAttempt, Tracer};
use crate::config::{PluginLimits, SecretValue};
use crate::outbound::OutboundConfig;
use std::collections::BTreeMap;
use std::sync::Arc;
use tracing::Instrument;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// What the operator granted one tenant's channel: the hosts it may call and
/// the secrets its plugin may use by name.
#[derive(Debug, Clone)]
pub struct ChannelGrant {
    pub tenant: String,
    pub channel: String,
    /// Lower-case host names, the intersection of the config's grant and the manifest.
    pub hosts: Vec<String>,
    pub secrets: BTreeMap<String, SecretValue>,
    /// When set, every call made with this grant leaves a [`CallTrace`] here.
    pub tracer: Option<Arc<Tracer>>,
    /// The tenant's card programmes this channel runs (`[[card_programs]]`
    /// naming it): the only ones its plugin's ledger calls reach.
    pub programs: Arc<[crate::ledger::Program]>,
    /// The tenant's time zone, in which the ledger reads a coupon's days
    /// and hours.
    pub timezone: crate::clock::TimeZone,
}

/// A plugin may not flood the host: bounds per call.
const MAX_HTTP_REQUESTS_PER_CALL: u32 = 16;
const MAX_LOG_LINES_PER_CALL: u32 = 200;
const MAX_LOG_LINE_BYTES: usize = 4096;

/// Answers a plugin's outbound requests inside the process instead of over
/// the network. Benchmarks use it to time the host and the plugin without a
/// socket in the way; the grant and per-call bounds apply exactly as they do
/// to real requests (the outbound address policy does not: nothing leaves
/// the process), and an answered request counts as having reached the
/// channel.
pub trait InMemoryUpstream: Send + Sync + 'static {
    fn answer(
        &self,
        request: &paycore_core::channel::HttpRequest,
    ) -> paycore_core::channel::HttpResponse;
}

/// Where a plugin's granted outbound requests go.
#[derive(Clone)]
pub(super) enum Transport {
    Network(reqwest::Client),
    InMemory(Arc<dyn InMemoryUpstream>),
}

/// The per-call store data.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) plugin_label: Arc<str>,
    pub(super) grant: Arc<ChannelGrant>,
    http: Transport,
    outbound: Arc<OutboundConfig>,
    max_response_bytes: usize,
    /// Bound of each request: a statement's download may take longer.
    http_timeout: std::time::Duration,
    memory_limit: usize,
    http_requests: u32,
    log_lines: u32,
    /// An outbound request may have reached the channel.
    pub(super) reached_channel: bool,
    pub(super) memory_exhausted: bool,
    pub(super) cpu_exhausted: bool,
    /// Epoch ticks left in this call's CPU budget.
    pub(super) cpu_ticks_left: u64,
    /// Time spent waiting on the channel's answers (see `crate::overhead`).
    pub(super) channel_wait: std::time::Duration,
    /// What the call did, kept only when the grant asks for it.
    pub(super) trace: Option<CallTrace>,
    /// When replaying, the recorded answers to every import.
    pub(super) script: Option<super::replay::Script>,
    /// The ledger as this call may reach it (`ledger`); `None` in a host
    /// that keeps none (replay, or before one is attached).
    pub(super) ledger: Option<crate::ledger::Session>,
    /// What the `operation` import answers (see `operation`).
    pub(super) times: super::operation::OperationTimes,
}

impl CallState {
    pub(super) fn new(
        plugin_label: Arc<str>,
        grant: Arc<ChannelGrant>,
        http: Transport,
        outbound: Arc<OutboundConfig>,
        limits: &PluginLimits,
        cpu_ticks: u64,
    ) -> Self {
        CallState {
            // Nothing granted: no preopens, no env, no args, no sockets.
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            plugin_label,
            grant,
            http,
            outbound,
            max_response_bytes: limits.http_max_response_bytes,
            http_timeout: limits.http_timeout,
            memory_limit: limits.memory_bytes,
            http_requests: 0,
            log_lines: 0,
            reached_channel: false,
            memory_exhausted: false,
            cpu_exhausted: false,
            cpu_ticks_left: cpu_ticks,
            channel_wait: std::time::Duration::ZERO,
            trace: None,
            script: None,
            ledger: None,
            times: Default::default(),
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime::ResourceLimiter for CallState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if let Some(trace) = &mut self.trace {
            trace.peak_memory = trace.peak_memory.max(desired);
        }
        if desired > self.memory_limit {
            self.memory_exhausted = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} MiB exceeded (wanted {} MiB)",
                self.memory_limit >> 20,
                desired >> 20
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl types::Host for CallState {}

impl http::Host for CallState {
    async fn send(
        &mut self,
        request: types::HttpRequest,
    ) -> wasmtime::Result<Result<types::HttpResponse, http::HttpError>> {
        if let Some(script) = &mut self.script {
            return Ok(script.http());
        }
        if self.trace.is_none() {
            return Ok(self.send_checked(request).await);
        }
        let copy = request.clone();
        let host = url::Url::parse(&request.url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
            })
            .unwrap_or_default();
        let granted = self.grant.hosts.contains(&host);
        let outcome = self.send_checked(request).await;
        if let Some(trace) = &mut self.trace {
            trace.calls.push(HostCall::Http(HttpAttempt {
                host,
                granted,
                request: copy,
                outcome: outcome.clone(),
            }));
        }
        Ok(outcome)
    }
}

impl CallState {
    /// Enforces the grant and the per-call bounds, then exchanges.
    async fn send_checked(
        &mut self,
        request: types::HttpRequest,
    ) -> Result<types::HttpResponse, http::HttpError> {
        let url = match url::Url::parse(&request.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                return Err(http::HttpError::Denied(format!(
                    "`{}` is not an http(s) URL",
                    request.url
                )));
            }
        };
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_ascii_lowercase();
        if !self.grant.hosts.contains(&host) {
            tracing::warn!(plugin = %self.plugin_label, channel = %self.grant.channel, host = %host, "plugin called a host it was not granted");
            return Err(http::HttpError::Denied(format!(
                "host `{host}` is not granted to channel `{}`",
                self.grant.channel
            )));
        }
        let network = matches!(self.http, Transport::Network(_));
        if network && let Err(why) = self.outbound_permits(&url, &host) {
            tracing::warn!(plugin = %self.plugin_label, channel = %self.grant.channel, host = %host, reason = %why, "plugin request refused by the outbound policy");
            return Err(http::HttpError::Denied(why.to_string()));
        }
        if self.http_requests >= MAX_HTTP_REQUESTS_PER_CALL {
            return Err(http::HttpError::Denied(format!(
                "more than {MAX_HTTP_REQUESTS_PER_CALL} requests in one call"
            )));
        }
        self.http_requests += 1;
        let method = match reqwest::Method::from_bytes(request.method.as_bytes()) {
            Ok(m) => m,
            Err(_) => {
                return Err(http::HttpError::Denied(format!(
                    "`{}` is not an HTTP method",
                    request.method
                )));
            }
        };
        let span = tracing::info_span!("host_http", method = %method, host = %host, status = tracing::field::Empty);
        let waiting = std::time::Instant::now();
        let outcome = match &self.http {
            Transport::Network(client) => {
                let builder = client.request(method, url);
                self.exchange(builder, request).instrument(span).await
            }
            Transport::InMemory(upstream) => {
                self.reached_channel = true;
                let answer = upstream.answer(&super::convert::outbound_request(&request));
                Ok(super::convert::outbound_response(answer))
            }
        };
        self.channel_wait += waiting.elapsed();
        outcome
    }
}

/// Why the `[outbound]` policy refuses a plugin's request.
#[derive(Debug, thiserror::Error)]
enum OutboundRefusal {
    #[error(
        "plain http to `{host}` is refused: plugins' hosts need https unless [outbound] plain_http_hosts lists them"
    )]
    PlainHttp { host: String },
    /// The address policy's reason, in its words.
    #[error("{0}")]
    Address(String),
}

impl CallState {
    /// The `[outbound]` policy's say before anything is sent: HTTPS unless
    /// the host may take plain HTTP, and no literal non-public address
    /// (names are checked on what they resolve to, by the client).
    fn outbound_permits(&self, url: &url::Url, host: &str) -> Result<(), OutboundRefusal> {
        if url.scheme() == "http" && !self.outbound.plain_http_hosts.iter().any(|h| h == host) {
            return Err(OutboundRefusal::PlainHttp {
                host: host.to_string(),
            });
        }
        self.outbound
            .addresses
            .check_url(url)
            .map_err(OutboundRefusal::Address)
    }

    /// Sends the request and reads the answer within the size cap. Records
    /// whether the request may have reached the channel.
    async fn exchange(
        &mut self,
        mut builder: reqwest::RequestBuilder,
        request: types::HttpRequest,
    ) -> Result<types::HttpResponse, http::HttpError> {
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let sent = builder.body(request.body).timeout(self.http_timeout).send();
        let mut response = match sent.await {
            Ok(r) => r,
            // A refused or failed connection never carried the request.
            Err(e) if e.is_connect() => return Err(http::HttpError::Connect(redact_url(&e))),
            Err(e) => {
                self.reached_channel = true;
                tracing::debug!(error = %redact_url(&e), "upstream exchange failed");
                return Err(if e.is_timeout() {
                    http::HttpError::Timeout
                } else {
                    http::HttpError::Broken(redact_url(&e))
                });
            }
        };
        self.reached_channel = true;
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.max_response_bytes {
                        return Err(http::HttpError::TooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(http::HttpError::Timeout),
                Err(e) => return Err(http::HttpError::Broken(redact_url(&e))),
            }
        }
        tracing::debug!(status, bytes = body.len(), "upstream answered");
        Ok(types::HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// reqwest errors print the URL, which may carry query parameters; keep the
/// cause only.
fn redact_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text
}

impl crypto::Host for CallState {
    async fn sign(
        &mut self,
        key: String,
        alg: crypto::Algorithm,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, crypto::CryptoError>> {
        let result = match &mut self.script {
            Some(script) => script.sign(&key, alg, &data),
            None => KeyRing(&self.grant.secrets).sign(&key, alg, &data),
        };
        if let Some(trace) = &mut self.trace {
            trace.calls.push(HostCall::Sign {
                key,
                alg,
                data,
                result: result.clone().map(Base64),
            });
        }
        Ok(result)
    }

    async fn verify(
        &mut self,
        key: String,
        alg: crypto::Algorithm,
        data: Vec<u8>,
        signature: Vec<u8>,
    ) -> wasmtime::Result<Result<bool, crypto::CryptoError>> {
        let result = match &mut self.script {
            Some(script) => script.verify(&key, alg, &data, &signature),
            None => KeyRing(&self.grant.secrets).verify(&key, alg, &data, &signature),
        };
        if let Some(trace) = &mut self.trace {
            trace.calls.push(HostCall::Verify {
                key,
                alg,
                data,
                signature,
                result: result.clone(),
            });
        }
        Ok(result)
    }

    async fn decrypt(
        &mut self,
        key: String,
        alg: crypto::Algorithm,
        nonce: Vec<u8>,
        aad: Vec<u8>,
        ciphertext: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, crypto::CryptoError>> {
        let result = match &mut self.script {
            Some(script) => script.decrypt(&key, alg, &nonce, &aad, &ciphertext),
            None => KeyRing(&self.grant.secrets).decrypt(&key, alg, &nonce, &aad, &ciphertext),
        };
        if let Some(trace) = &mut self.trace {
            trace.calls.push(HostCall::Decrypt {
                key,
                alg,
                nonce,
                aad,
                ciphertext,
                result: result.clone().map(Base64),
            });
        }
        Ok(result)
    }
}

impl log::Host for CallState {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        if self.log_lines >= MAX_LOG_LINES_PER_CALL {
            return Ok(());
        }
        self.log_lines += 1;
        let mut message = message;
        if message.len() > MAX_LOG_LINE_BYTES {
            let mut cut = MAX_LOG_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        if let Some(trace) = &mut self.trace {
            trace
                .logs
                .push((format!("{level:?}").to_lowercase(), message.clone()));
        }
        let plugin = &*self.plugin_label;
        let channel = &self.grant.channel;
        match level {
            log::Level::Trace => {
                tracing::trace!(target: "paycore::plugin", plugin, channel, "{message}")
            }
            log::Level::Debug => {
                tracing::debug!(target: "paycore::plugin", plugin, channel, "{message}")
            }
            log::Level::Info => {
                tracing::info!(target: "paycore::plugin", plugin, channel, "{message}")
            }
            log::Level::Warn => {
                tracing::warn!(target: "paycore::plugin", plugin, channel, "{message}")
            }
            log::Level::Error => {
                tracing::error!(target: "paycore::plugin", plugin, channel, "{message}")
            }
        }
        Ok(())
    }
}

impl clock::Host for CallState {
    async fn now_millis(&mut self) -> wasmtime::Result<u64> {
        let millis = match &mut self.script {
            Some(script) => script.now(),
            None => crate::domain::now_millis() as u64,
        };
        if let Some(trace) = &mut self.trace {
            trace.calls.push(HostCall::Clock { millis });
        }
        Ok(millis)
    }
}
