//! The checks, in the order the table shows them.

use super::ledger::{self, Bench};
use super::profile::Loaded;
use super::suite::{Ask, CALLBACK_PATH, Got, Suite, describe, status};
use super::template::{self, Signing, Vars};
use super::upstream::{Mode, Upstream};
use super::{Check, Outcome, Report};
use crate::channel_settings::{self, Problem};
use crate::config::PluginLimits;
use crate::plugin_host::{
    CallError, CallErrorKind, ChannelGrant, PluginHost, Tracer, secret_forms,
};
use paycore_core::channel;
use paycore_plugin_sdk::money;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Amounts where float arithmetic and unit conversion go wrong.
const EDGE_AMOUNTS: &[i64] = &[1, 10, 99, 100, 999_999_999];
/// The suite's HTTP cap: a "huge" answer is twice this.
const MAX_ANSWER: usize = 1 << 20;

fn limits() -> PluginLimits {
    PluginLimits {
        // Counting fuel slows wasm down; the budget is for measuring, not
        // for judging speed.
        cpu: Duration::from_secs(2),
        call_timeout: Duration::from_secs(20),
        max_concurrent_calls: 2,
        // Short, so the "no answer" check does not wait long.
        http_timeout: Duration::from_millis(1000),
        http_max_response_bytes: MAX_ANSWER,
        ..PluginLimits::default()
    }
}

pub async fn run(
    bytes: Vec<u8>,
    loaded: Loaded,
    wasm: &Path,
    cache: Option<std::path::PathBuf>,
) -> anyhow::Result<Report> {
    crate::tls::install_crypto_provider();
    let host = PluginHost::measuring(limits(), cache)?;
    let wasm_bytes = bytes.len() as u64;
    let name = wasm.display().to_string();
    let mut report = Report {
        plugin: name,
        wasm_bytes,
        checks: Vec::new(),
        figures: Vec::new(),
        millis: 0.0,
    };
    let plugin = match host.load_bytes(bytes).await {
        Ok(p) => p,
        Err(e) => {
            report.checks.push(fail(
                "manifest complete, version semver",
                format!("the plugin does not load: {e}"),
            ));
            return Ok(report);
        }
    };
    report.plugin = plugin.label().to_string();
    // A plugin that declares no hosts has no provider to play: it is
    // granted none, and the provider's checks do not apply to it.
    let provider = !plugin.manifest.hosts.is_empty();
    let bench = if plugin.imports(ledger::INTERFACE) {
        let bench = Bench::open(loaded.ledger.clone()).await?;
        host.attach_ledger(bench.ledger());
        Some(bench)
    } else {
        None
    };
    let upstream =
        Upstream::start(loaded.profile.answers.clone(), loaded.upstream_keys.clone()).await?;
    let tracer = Arc::new(Tracer::default());
    let grant = Arc::new(ChannelGrant {
        tenant: ledger::TENANT.into(),
        channel: ledger::CHANNEL.into(),
        // The upstream stands in for every host the plugin's settings name.
        hosts: if provider {
            vec!["127.0.0.1".into()]
        } else {
            Vec::new()
        },
        secrets: loaded.secrets.clone(),
        tracer: Some(tracer.clone()),
        programs: bench
            .as_ref()
            .map_or_else(|| Arc::from([]), Bench::programs),
        timezone: crate::clock::TimeZone::UTC,
    });
    let mut suite = Suite {
        host,
        plugin,
        grant,
        tracer,
        upstream,
        loaded,
        serial: 0,
        started_millis: paycore_core::domain::now_millis(),
        checks: Vec::new(),
        figures: Vec::new(),
        traces: Vec::new(),
        outputs: Vec::new(),
        received: Vec::new(),
        unsupported: Vec::new(),
        bench,
        played: Default::default(),
    };
    suite.manifest();
    if provider {
        suite.scenes().await;
        suite.operations().await;
        suite.money().await;
        suite.faults().await;
        suite.callbacks().await;
    } else {
        suite.no_provider();
    }
    suite.ledger_checks().await?;
    suite.hosts();
    suite.secrets();
    report.checks = suite.checks;
    report.figures = suite.figures;
    Ok(report)
}

pub(super) fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
    check(name, Outcome::Passed, detail)
}

pub(super) fn fail(name: impl Into<String>, detail: impl Into<String>) -> Check {
    check(name, Outcome::Failed, detail)
}

/// A check the plugin gives it nothing to run on; `why` says so.
pub(super) fn not_applicable(name: impl Into<String>, why: impl Into<String>) -> Check {
    check(name, Outcome::NotApplicable, why)
}

fn check(name: impl Into<String>, outcome: Outcome, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        outcome,
        detail: detail.into(),
    }
}

impl Suite {
    fn manifest(&mut self) {
        let name = "manifest complete, version semver";
        let m = self.plugin.manifest.clone();
        let mut problems = Vec::new();
        if m.description.trim().is_empty() {
            problems.push("no description".to_string());
        }
        // The profile's values as a tenant's would be checked, with the
        // upstream's address standing in for `${upstream}`.
        let values = self.profile_settings("http://127.0.0.1:1");
        if let Err(misfits) = channel_settings::resolve(&m.settings, &values) {
            problems.extend(misfits.into_iter().map(|m| match m.problem {
                Problem::Missing => {
                    format!("the profile gives no value for setting `{}`", m.setting)
                }
                Problem::Invalid(what) => {
                    format!("the profile's setting `{}` {what}", m.setting)
                }
            }));
        }
        for s in &m.secrets {
            if !self.loaded.secrets.contains_key(s) {
                problems.push(format!("the profile gives no test key for secret `{s}`"));
            }
        }
        self.checks.push(if problems.is_empty() {
            pass(
                name,
                format!(
                    "{} {} (contract {}), {} scenes, {} currencies, settings {}",
                    m.name,
                    m.version,
                    m.contract_version,
                    m.scenes.len(),
                    m.currencies.len(),
                    if m.settings_described {
                        "described"
                    } else {
                        "untyped"
                    }
                ),
            )
        } else {
            fail(name, problems.join("; "))
        });
    }

    /// The provider's checks, each said not to apply; a plugin with
    /// neither a provider nor a ledger to play fails, as nothing tests it.
    fn no_provider(&mut self) {
        let why = "the plugin declares no hosts: there is no provider to play";
        for name in [
            "pay answers (each scene)",
            "query / refund / query-refund / close / cancel answers",
            "money exact",
            "upstream faults after sending → unknown (pay, refund)",
            "connection refused → unavailable (pay)",
            "callback verified, tampered ones rejected",
        ] {
            self.checks.push(not_applicable(name, why));
        }
        if self.loaded.ledger.is_none() {
            self.checks.push(fail(
                "something to play",
                "the plugin declares no hosts and the profile has no [ledger]: the suite has neither a provider nor cards to test it with",
            ));
        }
    }

    async fn scenes(&mut self) {
        let scenes = self.plugin.manifest.scenes.clone();
        let currency = self.plugin.manifest.currencies[0].clone();
        for scene in scenes {
            let name = format!("pay answers ({})", scene.as_str());
            let sample = self.sample(100, &currency, scene);
            let got = self.ask(Mode::Script, &sample, self.pay(&sample)).await;
            let check = match got {
                Ok(Got::Payment(r)) => pass(name, status(&r.status)),
                other => fail(name, self.explain(other, "a payment result")),
            };
            self.checks.push(check);
        }
    }

    async fn operations(&mut self) {
        let sample = self.sample(100, &self.first_currency(), self.fault_scene());
        let payment = self.payment_ref(&sample);
        let refund = self.refund_request(&sample);
        let refund_ref = self.refund_ref(&sample);
        let asks: [(&str, Ask); 5] = [
            ("query", Ask::Query(payment.clone())),
            ("refund", Ask::Refund(refund)),
            ("query-refund", Ask::QueryRefund(refund_ref)),
            ("close", Ask::Close(payment.clone())),
            ("cancel", Ask::Cancel(payment)),
        ];
        for (op, ask) in asks {
            let name = format!("{op} answers");
            let check = match self.ask(Mode::Script, &sample, ask).await {
                Ok(Got::Payment(r)) => pass(name, status(&r.status)),
                Ok(Got::Refund(r)) => pass(name, status(&r.status)),
                Err(e) if unsupported(&e) => {
                    self.unsupported.push(op);
                    pass(name, "not supported (invalid-request)")
                }
                other => fail(name, self.explain(other, "a result")),
            };
            self.checks.push(check);
        }
    }

    /// Exact amounts in every kind of currency the plugin declares.
    async fn money(&mut self) {
        let mut currencies = vec![self.first_currency()];
        for exp in [0, 3] {
            if let Some(c) = self
                .plugin
                .manifest
                .currencies
                .iter()
                .find(|c| money::exponent(c).ok() == Some(exp))
                && !currencies.contains(c)
            {
                currencies.push(c.clone());
            }
        }
        for currency in currencies {
            let name = format!("money exact ({currency})");
            let mut problem = None;
            for &amount in EDGE_AMOUNTS {
                if let Some(p) = self.exact(amount, &currency).await {
                    problem = Some(p);
                    break;
                }
            }
            let amounts = EDGE_AMOUNTS
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            self.checks.push(match problem {
                None => pass(
                    name,
                    format!("{amounts} minor units sent and read back exactly"),
                ),
                Some(p) => fail(name, p),
            });
        }
    }

    /// `None` when `amount` goes out and comes back exactly.
    async fn exact(&mut self, amount: i64, currency: &str) -> Option<String> {
        let sample = self.sample(amount, currency, self.fault_scene());
        let vars = self.vars(&sample);
        let Some(pay_amount) = &self.loaded.profile.pay_amount else {
            return Some(
                "the profile has no pay_amount: what a pay request carries for its amount".into(),
            );
        };
        let wanted = match template::render(pay_amount, &vars) {
            Ok(w) => w,
            Err(e) => return Some(format!("the profile's pay_amount: {e}")),
        };
        let got = self.ask(Mode::Script, &sample, self.pay(&sample)).await;
        let sent = &self.received;
        let shown = vars["amount_major"].clone();
        if !sent.iter().any(|r| r.text.contains(&wanted)) {
            return Some(format!(
                "{amount} minor units of {currency} must be sent as {shown} (`{wanted}`); the pay request did not carry it: money conversion is not exact"
            ));
        }
        match got {
            Ok(Got::Payment(r)) => {
                if r.amount.is_some_and(|a| a != amount) {
                    return Some(format!(
                        "{amount} minor units of {currency} came back as {} minor units: money conversion is not exact",
                        r.amount.unwrap_or_default()
                    ));
                }
                if r.currency.as_ref().is_some_and(|c| c != currency) {
                    return Some(format!("{currency} came back as {:?}", r.currency));
                }
                None
            }
            other => Some(format!(
                "at {amount} minor units of {currency}: {}",
                self.explain(other, "a payment result")
            )),
        }
    }

    /// Upstream failures after and before the request left.
    async fn faults(&mut self) {
        let currency = self.first_currency();
        let scene = self.fault_scene();
        let after_send: Vec<(&str, Mode)> = vec![
            ("no answer (timeout)", Mode::Hold),
            ("connection reset", Mode::Reset),
            (
                "malformed answer",
                Mode::Raw(Arc::new(raw(200, b"{\"code\":\"SUCC"))),
            ),
            (
                "garbage answer",
                Mode::Raw(Arc::new(raw(200, b"<html><body>Bad Gateway</body></html>"))),
            ),
            ("truncated answer", Mode::Raw(Arc::new(truncated()))),
            (
                "huge answer",
                Mode::Raw(Arc::new(raw(200, &vec![b' '; 2 * MAX_ANSWER]))),
            ),
        ];
        for (what, mode) in after_send {
            for op in ["pay", "refund"] {
                let name = format!("{what} after sending → unknown ({op})");
                if self.unsupported.contains(&op) {
                    // Nothing is sent for an operation the plugin refuses.
                    self.checks.push(pass(name, "not supported"));
                    continue;
                }
                let sample = self.sample(100, &currency, scene);
                let ask = if op == "pay" {
                    self.pay(&sample)
                } else {
                    Ask::Refund(self.refund_request(&sample))
                };
                let got = self.ask(mode.clone(), &sample, ask).await;
                let check = match got {
                    Err(CallError {
                        kind: CallErrorKind::Channel(channel::ChannelError::OutcomeUnknown(f)),
                        ..
                    }) => pass(name, format!("outcome-unknown ({})", f.code)),
                    other => fail(
                        name,
                        format!(
                            "{}; the request had left, so money may have moved: it must be outcome-unknown",
                            describe(&other)
                        ),
                    ),
                };
                self.checks.push(check);
            }
        }
        // Nothing listens on a port the suite just gave back.
        let closed = closed_port().await;
        let sample = self.sample(100, &currency, scene);
        let name = "connection refused → unavailable (pay)";
        let got = self
            .ask_at(
                Mode::Script,
                &sample,
                self.pay(&sample),
                &format!("http://127.0.0.1:{closed}"),
            )
            .await;
        self.checks.push(match got {
            Err(CallError {
                kind: CallErrorKind::Channel(channel::ChannelError::Unavailable(f)),
                ..
            }) => pass(name, format!("unavailable ({}), nothing sent", f.code)),
            other => fail(
                name,
                format!(
                    "{}; the connection was refused before anything was sent: it must be unavailable",
                    describe(&other)
                ),
            ),
        });
    }

    async fn callbacks(&mut self) {
        let Some(callback) = self.loaded.profile.callback.as_ref() else {
            self.checks.push(fail(
                "callback verified",
                "the profile has no [callback] sample",
            ));
            return;
        };
        let (method, path, headers, body, lets) = (
            callback.method.clone(),
            callback.path.clone(),
            callback.headers.clone(),
            callback.body.clone(),
            callback.lets.clone(),
        );
        let sample = self.sample(8888, &self.first_currency(), self.fault_scene());
        let keys = self.loaded.upstream_keys.clone();
        let build = |vars: &Vars, signing: Signing, keep: &Vars| {
            template::message(&lets, &body, &headers, vars, &keys, signing, keep).map(|m| {
                let request = channel::HttpRequest {
                    method: method.clone(),
                    url: format!("{CALLBACK_PATH}{path}"),
                    headers: m.headers.clone(),
                    body: m.body.clone().into_bytes(),
                };
                (request, m.vars)
            })
        };
        let vars = self.vars(&sample);
        let (honest, signed) = match build(&vars, Signing::Honest, &Vars::new()) {
            Ok(x) => x,
            Err(e) => {
                self.checks.push(fail(
                    "callback verified",
                    format!("the profile's callback: {e}"),
                ));
                return;
            }
        };
        let got = self.ask(Mode::Script, &sample, Ask::Callback(honest)).await;
        self.checks.push(match got {
            Ok(Got::Callback(o)) if o.verified => match &o.event {
                Some(channel::CallbackEvent::Payment(u))
                    if u.amount == sample.amount && u.currency == sample.currency =>
                {
                    pass(
                        "callback verified",
                        format!("payment {}", status(&u.status)),
                    )
                }
                Some(channel::CallbackEvent::Payment(u)) => fail(
                    "callback verified",
                    format!(
                        "read {} {} from a notice of {} {}: money conversion is not exact",
                        u.amount, u.currency, sample.amount, sample.currency
                    ),
                ),
                other => fail(
                    "callback verified",
                    format!("verified, but the event is {other:?}, not the payment"),
                ),
            },
            other => fail(
                "callback verified",
                format!(
                    "{}; a correctly signed notice must verify",
                    self.explain(other, "a verified outcome")
                ),
            ),
        });
        // The same notice under a signature over other data.
        let forged = build(&vars, Signing::Forged, &Vars::new()).map(|(r, _)| r);
        // Another amount under the genuine notice's signatures.
        let signatures: Vars = template::signature_names(&lets)
            .into_iter()
            .filter_map(|n| Some((n.clone(), signed.get(&n)?.clone())))
            .collect();
        let mut more = sample.clone();
        more.amount = sample.amount * 100 + 1;
        let mut more_vars = self.vars(&more);
        more_vars.insert("merchant_order_no".into(), sample.order.clone());
        let inflated = build(&more_vars, Signing::Honest, &signatures).map(|(r, _)| r);
        for (name, request) in [
            ("callback with a tampered signature rejected", forged),
            ("callback with a tampered amount rejected", inflated),
        ] {
            let request = match request {
                Ok(r) => r,
                Err(e) => {
                    self.checks
                        .push(fail(name, format!("the profile's callback: {e}")));
                    continue;
                }
            };
            let got = self
                .ask(Mode::Script, &sample, Ask::Callback(request))
                .await;
            self.checks.push(match got {
                Ok(Got::Callback(o)) if !o.verified && o.event.is_none() => {
                    pass(name, format!("rejected, answered HTTP {}", o.response.status))
                }
                Err(CallError {
                    kind: CallErrorKind::Channel(_),
                    ..
                }) => pass(name, "rejected with an error"),
                Ok(Got::Callback(o)) => fail(
                    name,
                    format!(
                        "accepted a tampered callback ({}): it must come back unverified with no event",
                        match &o.event {
                            Some(channel::CallbackEvent::Payment(u)) => format!(
                                "verified: {}, payment {} of {} {}",
                                o.verified,
                                status(&u.status),
                                u.amount,
                                u.currency
                            ),
                            other => format!("verified: {}, event: {other:?}", o.verified),
                        }
                    ),
                ),
                other => fail(name, describe(&other)),
            });
        }
    }

    fn hosts(&mut self) {
        let name = "calls only declared hosts";
        let declared = &self.plugin.manifest.hosts;
        // The upstream stands in for the provider of a plugin that has one;
        // a plugin that declares no hosts may call none.
        let upstream = |host: &str| !declared.is_empty() && host == "127.0.0.1";
        let mut strays: Vec<String> = self
            .traces
            .iter()
            .flat_map(|t| t.http())
            .filter(|a| !upstream(&a.host) && !declared.contains(&a.host))
            .map(|a| a.host.clone())
            .collect();
        strays.sort();
        strays.dedup();
        let attempts: usize = self.traces.iter().map(|t| t.http().count()).sum();
        self.checks
            .push(if strays.is_empty() && declared.is_empty() {
                pass(name, "no requests: the manifest declares no hosts")
            } else if strays.is_empty() {
                pass(
                    name,
                    format!("{attempts} requests, all to the configured upstream"),
                )
            } else {
                fail(
                    name,
                    format!(
                        "tried hosts its manifest does not declare: {}",
                        strays.join(", ")
                    ),
                )
            });
    }

    fn secrets(&mut self) {
        let name = "no secret in logs or outputs";
        if self.loaded.secrets.is_empty() {
            self.checks
                .push(not_applicable(name, "the plugin is given no secrets"));
            return;
        }
        let mut texts: Vec<(&str, String)> = Vec::new();
        for t in &self.traces {
            for (_, line) in &t.logs {
                texts.push(("a log line", line.clone()));
            }
            for a in t.http() {
                let r = &a.request;
                texts.push((
                    "a request",
                    format!(
                        "{} {:?} {}",
                        r.url,
                        r.headers,
                        String::from_utf8_lossy(&r.body)
                    ),
                ));
            }
        }
        for o in &self.outputs {
            texts.push(("an answer", o.clone()));
        }
        let mut leaks = Vec::new();
        for (secret, value) in &self.loaded.secrets {
            let forms = secret_forms(value.expose());
            if let Some((place, _)) = texts
                .iter()
                .find(|(_, text)| forms.iter().any(|f| text.contains(f.as_str())))
            {
                leaks.push(format!("secret `{secret}` appears in {place}"));
            }
        }
        let lines: usize = self.traces.iter().map(|t| t.logs.len()).sum();
        self.checks.push(if leaks.is_empty() {
            pass(
                name,
                format!(
                    "{lines} log lines and {} answers scanned",
                    self.outputs.len()
                ),
            )
        } else {
            fail(name, leaks.join("; "))
        });
    }
}

fn unsupported(e: &CallError) -> bool {
    matches!(&e.kind, CallErrorKind::Channel(channel::ChannelError::InvalidRequest(f)) if f.code == "unsupported_operation")
}

fn raw(status: u16, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A body that stops well short of its announced length.
fn truncated() -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 Scripted\r\nContent-Type: application/json\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n".to_vec();
    out.extend_from_slice(b"{\"code\":\"SUCCESS\",\"status\":\"SUCC");
    out
}

async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a loopback port");
    listener.local_addr().expect("a bound address").port()
}
