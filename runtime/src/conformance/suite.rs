//! The suite's side of a conversation with the plugin: made-up payments,
//! the calls it makes through the real host (with the upstream set to
//! answer or misbehave), and what came back, in words.

use super::profile::Loaded;
use super::template::{self, Vars};
use super::upstream::{Mode, Upstream};
use super::{Check, Figure};
use crate::domain::Scene;
use crate::plugin_host::{
    CallError, CallErrorKind, CallTrace, ChannelGrant, Plugin, PluginHost, Tracer,
};
use paycore_core::channel;
use paycore_plugin_sdk::money;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where the suite says callbacks arrive.
pub(super) const CALLBACK_PATH: &str = "/v1/callbacks/conformance/conformance";

/// What the suite asks the plugin.
pub(super) enum Ask {
    Pay(channel::PayRequest),
    Query(channel::PaymentRef),
    Close(channel::PaymentRef),
    Cancel(channel::PaymentRef),
    Refund(channel::RefundRequest),
    QueryRefund(channel::RefundRef),
    Callback(channel::HttpRequest),
}

impl Ask {
    /// As the traces and `profile::OPERATIONS` name it.
    pub(super) fn operation(&self) -> &'static str {
        match self {
            Ask::Pay(_) => "pay",
            Ask::Query(_) => "query",
            Ask::Close(_) => "close",
            Ask::Cancel(_) => "cancel",
            Ask::Refund(_) => "refund",
            Ask::QueryRefund(_) => "query-refund",
            Ask::Callback(_) => "handle-callback",
        }
    }
}

#[derive(Debug)]
pub(super) enum Got {
    Payment(channel::PaymentResult),
    Refund(channel::RefundResult),
    Callback(channel::CallbackOutcome),
}

pub(super) struct Suite {
    pub(super) host: PluginHost,
    pub(super) plugin: Plugin,
    pub(super) grant: Arc<ChannelGrant>,
    pub(super) tracer: Arc<Tracer>,
    pub(super) upstream: Upstream,
    pub(super) loaded: Loaded,
    pub(super) serial: u32,
    pub(super) checks: Vec<Check>,
    pub(super) figures: Vec<Figure>,
    /// Every call's trace, for the hosts and secrets checks.
    pub(super) traces: Vec<CallTrace>,
    /// Every answer and error, as text, for the secrets check.
    pub(super) outputs: Vec<String>,
    /// What the upstream received during the last call.
    pub(super) received: Vec<super::upstream::Received>,
    /// Operations the plugin answered as unsupported.
    pub(super) unsupported: Vec<&'static str>,
    /// The ledger the plugin's calls reach, when it imports the interface.
    pub(super) bench: Option<super::ledger::Bench>,
    /// What the suite played on the ledger, for `ledger::audit`.
    pub(super) played: super::ledger::Played,
    /// When the suite's payments and refunds were "created" (a plugin may
    /// ask, through the `operation` import): when the suite started.
    pub(super) started_millis: i64,
}

/// One payment the suite makes up.
#[derive(Clone)]
pub(super) struct Sample {
    pub(super) order: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) scene: Scene,
}

impl Suite {
    pub(super) async fn ask(
        &mut self,
        mode: Mode,
        sample: &Sample,
        ask: Ask,
    ) -> Result<Got, CallError> {
        let url = self.upstream.base_url();
        self.ask_at(mode, sample, ask, &url).await
    }

    pub(super) async fn ask_at(
        &mut self,
        mode: Mode,
        sample: &Sample,
        ask: Ask,
        upstream: &str,
    ) -> Result<Got, CallError> {
        let scripted = matches!(mode, Mode::Script);
        self.upstream
            .set(mode, self.vars(sample), Some(ask.operation()));
        let ctx = self.context(upstream);
        let (p, g, h) = (&self.plugin, self.grant.clone(), &self.host);
        let got = match ask {
            Ask::Pay(r) => h.pay(p, g, ctx, r).await.map(Got::Payment),
            Ask::Query(r) => h.query(p, g, ctx, r).await.map(Got::Payment),
            Ask::Close(r) => h.close(p, g, ctx, r).await.map(Got::Payment),
            Ask::Cancel(r) => h.cancel(p, g, ctx, r).await.map(Got::Payment),
            Ask::Refund(r) => h.refund(p, g, ctx, r).await.map(Got::Refund),
            Ask::QueryRefund(r) => h.query_refund(p, g, ctx, r).await.map(Got::Refund),
            Ask::Callback(r) => h.handle_callback(p, g, ctx, r).await.map(Got::Callback),
        };
        self.received = self.upstream.received();
        // Release held connections now, not when the next check starts.
        self.upstream.set(Mode::Script, Vars::new(), None);
        self.outputs.push(format!("{got:?}"));
        for trace in self.tracer.take() {
            if scripted && got.is_ok() && !self.figures.iter().any(|f| f.op == trace.op) {
                self.figures.push(Figure {
                    op: trace.op,
                    fuel: trace.fuel,
                    peak_memory: trace.peak_memory,
                    millis: trace.millis,
                });
            }
            self.traces.push(trace);
        }
        got
    }

    /// What went wrong, naming a request the profile had no answer for.
    pub(super) fn explain(&self, got: Result<Got, CallError>, wanted: &str) -> String {
        let unmatched = self
            .traces
            .last()
            .and_then(|t| t.http().last())
            .filter(|a| matches!(&a.outcome, Ok(r) if r.status == 404))
            .map(|a| {
                format!(
                    " (the profile has no answer for {} {})",
                    a.request.method, a.request.url
                )
            })
            .unwrap_or_default();
        format!("{}, wanted {wanted}{unmatched}", describe(&got))
    }

    /// The profile's settings with `${upstream}` filled in.
    pub(super) fn profile_settings(&self, upstream: &str) -> BTreeMap<String, String> {
        let vars = Vars::from([("upstream".to_string(), upstream.to_string())]);
        self.loaded
            .profile
            .settings
            .iter()
            .map(|(k, v)| {
                let v = template::render(v, &vars).unwrap_or_else(|_| v.clone());
                (k.clone(), v)
            })
            .collect()
    }

    /// What a channel configured as the profile says gets: the plugin's
    /// defaults included, as the registry resolves them.
    pub(super) fn context(&self, upstream: &str) -> channel::CallContext {
        let values = self.profile_settings(upstream);
        let settings = crate::channel_settings::resolve(&self.plugin.manifest.settings, &values)
            .unwrap_or_else(|_| values.into_iter().collect());
        channel::CallContext {
            tenant: super::ledger::TENANT.into(),
            channel: super::ledger::CHANNEL.into(),
            settings,
            notify_url: format!("https://paycore.example{CALLBACK_PATH}"),
        }
    }

    pub(super) fn sample(&mut self, amount: i64, currency: &str, scene: Scene) -> Sample {
        self.serial += 1;
        Sample {
            order: format!("CONF{:06}", self.serial),
            amount,
            currency: currency.to_string(),
            scene,
        }
    }

    pub(super) fn first_currency(&self) -> String {
        self.plugin.manifest.currencies[0].clone()
    }

    /// Barcode when declared (the payment is decided in the pay call), else
    /// the first scene.
    pub(super) fn fault_scene(&self) -> Scene {
        let scenes = &self.plugin.manifest.scenes;
        let barcode = Scene::Barcode;
        if scenes.contains(&barcode) {
            barcode
        } else {
            scenes.first().copied().unwrap_or(barcode)
        }
    }

    pub(super) fn vars(&self, s: &Sample) -> Vars {
        let major = |m: i64| money::to_major_string(m, &s.currency).unwrap_or_default();
        let now = crate::domain::now_millis();
        let r = &self.loaded.profile.request;
        [
            ("upstream", self.upstream.base_url()),
            ("amount", s.amount.to_string()),
            ("amount_major", major(s.amount)),
            ("currency", s.currency.clone()),
            ("merchant_order_no", s.order.clone()),
            ("payment_id", format!("pay_{}", s.order)),
            ("channel_order_no", format!("T{}", s.order)),
            ("merchant_refund_no", format!("R{}", s.order)),
            ("refund_id", format!("re_{}", s.order)),
            ("channel_refund_no", format!("RT{}", s.order)),
            (
                "notify_url",
                format!("https://paycore.example{CALLBACK_PATH}"),
            ),
            ("now_secs", (now / 1000).to_string()),
            ("now_millis", now.to_string()),
            ("scene", format!("{:?}", s.scene).to_lowercase()),
            ("auth_code", r.auth_code.clone().unwrap_or_default()),
            ("open_id", r.open_id.clone().unwrap_or_default()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub(super) fn pay(&self, s: &Sample) -> Ask {
        Ask::Pay(self.pay_request(s))
    }

    pub(super) fn pay_request(&self, s: &Sample) -> channel::PayRequest {
        let r = &self.loaded.profile.request;
        let needs_code = matches!(s.scene, Scene::Barcode | Scene::Face);
        channel::PayRequest {
            payment_id: format!("pay_{}", s.order),
            merchant_order_no: s.order.clone(),
            amount: s.amount,
            currency: s.currency.clone(),
            scene: s.scene,
            wallet: self.plugin.manifest.wallets[0].clone(),
            auth_code: if needs_code {
                r.auth_code.clone()
            } else {
                None
            },
            subject: Some("conformance".into()),
            payer: Some(channel::Payer {
                app_id: r.app_id.clone(),
                open_id: r.open_id.clone(),
                buyer_id: r.buyer_id.clone(),
            }),
            goods: Vec::new(),
            receipt_no: None,
            store_id: None,
            terminal_id: None,
            client_ip: r.client_ip.clone().or(Some("127.0.0.1".into())),
            expires_in: Some(900),
            created_millis: self.started_millis,
        }
    }

    pub(super) fn payment_ref(&self, s: &Sample) -> channel::PaymentRef {
        channel::PaymentRef {
            payment_id: format!("pay_{}", s.order),
            merchant_order_no: s.order.clone(),
            channel_order_no: Some(format!("T{}", s.order)),
            amount: s.amount,
            currency: s.currency.clone(),
            scene: s.scene,
            created_millis: self.started_millis,
        }
    }

    pub(super) fn refund_request(&self, s: &Sample) -> channel::RefundRequest {
        channel::RefundRequest {
            refund_id: format!("re_{}", s.order),
            merchant_refund_no: format!("R{}", s.order),
            payment: self.payment_ref(s),
            amount: s.amount,
            reason: Some("conformance".into()),
            created_millis: self.started_millis,
        }
    }

    pub(super) fn refund_ref(&self, s: &Sample) -> channel::RefundRef {
        channel::RefundRef {
            refund_id: format!("re_{}", s.order),
            merchant_refund_no: format!("R{}", s.order),
            channel_refund_no: Some(format!("RT{}", s.order)),
            amount: s.amount,
            payment: self.payment_ref(s),
            created_millis: self.started_millis,
        }
    }
}
/// `PaymentStatus::Succeeded` → `succeeded`.
pub(super) fn status(s: &impl std::fmt::Debug) -> String {
    let text = format!("{s:?}");
    text.rsplit("::").next().unwrap_or(&text).to_lowercase()
}

/// A call's outcome in a few words.
pub(super) fn describe(got: &Result<Got, CallError>) -> String {
    match got {
        Ok(Got::Payment(r)) => format!("came back as a payment {}", status(&r.status)),
        Ok(Got::Refund(r)) => format!("came back as a refund {}", status(&r.status)),
        Ok(Got::Callback(o)) => {
            format!("came back as a callback outcome (verified: {})", o.verified)
        }
        Err(CallError {
            kind: CallErrorKind::Channel(e),
            ..
        }) => {
            let (kind, f) = match e {
                channel::ChannelError::Declined(f) => ("declined", f),
                channel::ChannelError::InvalidRequest(f) => ("invalid-request", f),
                channel::ChannelError::Unavailable(f) => ("unavailable", f),
                channel::ChannelError::OutcomeUnknown(f) => ("outcome-unknown", f),
            };
            format!("came back as {kind} ({}: {})", f.code, f.message)
        }
        Err(e) => format!("failed in the host: {}", e.kind),
    }
}
