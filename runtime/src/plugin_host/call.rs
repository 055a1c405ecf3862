//! One sandboxed plugin call: fresh store, limits, classification of what
//! went wrong.

use super::bindings::exports::paycore::channel::settings as wit_settings;
use super::bindings::exports::paycore::channel::statement as wit_statement;
use super::bindings::exports::paycore::channel::tender as wit_tender;
use super::bindings::paycore::channel::types as wit;
use super::convert;
use super::engine::{EPOCH_TICK, PluginHost};
use super::imports::{CallState, ChannelGrant};
use super::load::Plugin;
use super::operation::OperationTimes;
use super::replay::Script;
use super::trace::{CallInput as Op, CallOutput, CallTrace};
use paycore_core::channel;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;
use wasmtime::{Store, UpdateDeadline};

/// Why a plugin call did not produce an answer, tagged with the plugin.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin {plugin}: {kind}")]
pub struct CallError {
    /// `name@version`.
    pub plugin: String,
    pub kind: CallErrorKind,
    /// An outbound request left before the call failed: money may have moved.
    pub reached_channel: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CallErrorKind {
    #[error("trapped: {0}")]
    Trap(String),
    #[error("exceeded its CPU budget of {0:?}")]
    CpuExhausted(Duration),
    #[error("exceeded its memory limit of {0} MiB")]
    MemoryExhausted(usize),
    #[error("did not finish within {0:?}")]
    Timeout(Duration),
    /// The plugin answered with one of the contract's typed errors.
    #[error("{0}")]
    Channel(channel::ChannelError),
}

impl CallError {
    /// True when the failure does not prove that no money moved.
    pub fn outcome_unknown(&self) -> bool {
        match &self.kind {
            CallErrorKind::Channel(channel::ChannelError::OutcomeUnknown(_)) => true,
            CallErrorKind::Channel(_) => false,
            _ => self.reached_channel,
        }
    }
}

pub(super) enum Answer {
    /// The manifest, with the setting descriptions of a plugin that has them.
    Manifest(wit::Manifest, Option<Vec<wit_settings::SettingSpec>>),
    Payment(Result<wit::PaymentResult, wit::ChannelError>),
    Refund(Result<wit::RefundResult, wit::ChannelError>),
    Callback(Result<wit::CallbackOutcome, wit::ChannelError>),
    Hold(Result<wit_tender::TenderHold, wit::ChannelError>),
    Statement(Result<wit_statement::StatementPage, wit::ChannelError>),
}

macro_rules! expect_answer {
    ($answer:expr, $variant:ident) => {
        match $answer {
            Answer::$variant(v) => v,
            _ => unreachable!("each operation yields its own answer type"),
        }
    };
}

type PayOutcome = Result<channel::PaymentResult, CallError>;

/// What a plugin says it held for a combined order's tender; the host
/// checks it against the ledger before believing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenderHold {
    pub hold: crate::ledger::HoldId,
    pub card: crate::ledger::CardId,
    pub amount: i64,
}
type RefundOutcome = Result<channel::RefundResult, CallError>;

impl PluginHost {
    pub(super) async fn call_manifest(
        &self,
        plugin: &Plugin,
    ) -> Result<(wit::Manifest, Option<Vec<wit_settings::SettingSpec>>), CallError> {
        let grant = Arc::new(ChannelGrant {
            tenant: String::new(),
            channel: String::new(),
            hosts: vec![],
            secrets: Default::default(),
            tracer: None,
            programs: Arc::from([]),
            timezone: crate::clock::TimeZone::UTC,
        });
        match self
            .run(plugin, grant, Op::Manifest, OperationTimes::default())
            .await?
        {
            Answer::Manifest(manifest, settings) => Ok((manifest, settings)),
            _ => unreachable!("each operation yields its own answer type"),
        }
    }

    pub async fn pay(
        &self,
        p: &Plugin,
        g: Arc<ChannelGrant>,
        ctx: channel::CallContext,
        req: channel::PayRequest,
    ) -> PayOutcome {
        let times = OperationTimes::of_payment(req.created_millis);
        let op = Op::Pay(convert::context(ctx), convert::pay_request(req));
        flatten(p, expect_answer!(self.run(p, g, op, times).await?, Payment))
            .map(convert::payment_result)
    }

    pub async fn query(
        &self,
        p: &Plugin,
        g: Arc<ChannelGrant>,
        ctx: channel::CallContext,
        r: channel::PaymentRef,
    ) -> PayOutcome {
        let times = OperationTimes::of_payment(r.created_millis);
        let op = Op::Query(convert::context(ctx), convert::payment_ref(r));
        flatten(p, expect_answer!(self.run(p, g, op, times).await?, Payment))
            .map(convert::payment_result)
    }

    pub async fn close(
        &self,
        p: &Plugin,
        g: Arc<ChannelGrant>,
        ctx: channel::CallContext,
        r: channel::PaymentRef,
    ) -> PayOutcome {
        let times = OperationTimes::of_payment(r.created_millis);
        let op = Op::Close(convert::context(ctx), convert::payment_ref(r));
        flatten(p, expect_answer!(self.run(p, g, op, times).await?, Payment))
            .map(convert::payment_result)
    }

    pub async fn cancel(
        &self,
        p: &Plugin,
        g: Arc<ChannelGrant>,
        ctx: channel::CallContext,
        r: channel::PaymentRef,
    ) -> PayOutcome {
        let times = OperationTimes::of_payment(r.created_millis);
        let op = Op::Cancel(convert::context(ctx), convert::payment_ref(r));
        flatten(p, expect_answer!(self.run(p, g, op, times).await?, Payment))
            .map(convert::payment_result)
    }

    pub async fn refund(
        &self,
        p: &Plugin,
        g: Arc<ChannelGrant>,
        ctx: channel::CallContext,
        r: channel::RefundRequest,
    ) -> RefundOutcome {
        let times = OperationTimes::of_refund(r.payment.created_millis, r.created_millis);
        let op = Op::Refund(convert::context(ctx), convert::refund_request(r));
        flatten(p, expect_answer!(self.run(p, g, op, times).await?, Refund))
            .map(convert::refund_result)
    }

    pub async fn query_refund(
        &self,
        p: &Plugin,
        g: Arc<ChannelGrant>,
        ctx: channel::CallContext,
        r: channel::RefundRef,
    ) -> RefundOutcome {
        let times = OperationTimes::of_refund(r.payment.created_millis, r.created_millis);
        let op = Op::QueryRefund(convert::context(ctx), convert::refund_ref(r));
        flatten(p, expect_answer!(self.run(p, g, op, times).await?, Refund))
            .map(convert::refund_result)
    }

    /// Holds one tender of a combined order (contract 1.1's `tender`
    /// export); `cap` is the most the order's holds may come to with this
    /// one. A plugin without the export cannot: `unsupported_operation`.
    pub async fn hold_tender(
        &self,
        p: &Plugin,
        g: Arc<ChannelGrant>,
        ctx: channel::CallContext,
        req: channel::PayRequest,
        cap: i64,
    ) -> Result<TenderHold, CallError> {
        let times = OperationTimes::of_payment(req.created_millis);
        let op = Op::HoldTender(convert::context(ctx), convert::pay_request(req), cap);
        flatten(p, expect_answer!(self.run(p, g, op, times).await?, Hold)).map(|h| TenderHold {
            hold: crate::ledger::HoldId::from(h.hold.as_str()),
            card: crate::ledger::CardId::from(h.card.as_str()),
            amount: h.amount,
        })
    }

    /// One page of the channel's statement of `day` (contract 1.1's
    /// `statement` export), as the plugin normalised it. A plugin without
    /// the export cannot be reconciled: `unsupported_operation`.
    pub async fn statement(
        &self,
        p: &Plugin,
        g: Arc<ChannelGrant>,
        ctx: channel::CallContext,
        day: &str,
        cursor: Option<String>,
    ) -> Result<channel::StatementPage, CallError> {
        let op = Op::Statement(convert::context(ctx), day.to_owned(), cursor);
        let times = OperationTimes::default();
        flatten(
            p,
            expect_answer!(self.run(p, g, op, times).await?, Statement),
        )
        .map(convert::statement_page)
    }

    pub async fn handle_callback(
        &self,
        p: &Plugin,
        g: Arc<ChannelGrant>,
        ctx: channel::CallContext,
        r: channel::HttpRequest,
    ) -> Result<channel::CallbackOutcome, CallError> {
        let op = Op::Callback(convert::context(ctx), convert::http_request(r));
        let times = OperationTimes::default();
        flatten(
            p,
            expect_answer!(self.run(p, g, op, times).await?, Callback),
        )
        .map(convert::callback_outcome)
    }

    async fn run(
        &self,
        plugin: &Plugin,
        grant: Arc<ChannelGrant>,
        op: Op,
        times: OperationTimes,
    ) -> Result<Answer, CallError> {
        let span = tracing::info_span!("plugin_call", plugin = %plugin.label, op = op.name(), channel = %grant.channel);
        self.execute(plugin, grant, op, times, None)
            .instrument(span)
            .await
    }

    /// Runs `op` with every import answered from `script` (see `replay`).
    pub(super) async fn run_scripted(
        &self,
        plugin: &Plugin,
        grant: Arc<ChannelGrant>,
        op: Op,
        script: Script,
    ) -> CallOutput {
        let times = OperationTimes::default();
        output_of(&self.execute(plugin, grant, op, times, Some(script)).await)
    }

    async fn execute(
        &self,
        plugin: &Plugin,
        grant: Arc<ChannelGrant>,
        op: Op,
        times: OperationTimes,
        script: Option<Script>,
    ) -> Result<Answer, CallError> {
        let inner = &self.inner;
        let statement_limits;
        let limits = if matches!(op, Op::Statement(..)) {
            statement_limits = inner.limits.for_statement();
            &statement_limits
        } else {
            &inner.limits
        };
        let _permit = inner
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let _in_flight = InFlight::enter(plugin);
        let cpu_ticks = (limits.cpu.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        let replaying = script.is_some();
        // A replay is never itself recorded.
        let recording = !replaying && inner.recordings.wants(&grant.tenant, &grant.channel);
        let tracer = grant.tracer.clone();
        let channel = grant.clone();
        let mut state = CallState::new(
            plugin.label.clone(),
            grant,
            inner.http.clone(),
            inner.outbound.clone(),
            limits,
            cpu_ticks,
        );
        state.script = script;
        state.times = times;
        if !replaying && let Some(ledger) = inner.ledger.get() {
            state.ledger = Some(crate::ledger::Session::new(
                ledger.clone(),
                crate::domain::TenantId::from(channel.tenant.as_str()),
                channel.programs.clone(),
                channel.timezone.clone(),
                super::ledger::scope_of(&op),
            ));
        }
        state.trace = (tracer.is_some() || recording).then(|| CallTrace {
            op: op.name(),
            input: Some(op.clone()),
            ..CallTrace::default()
        });
        let op_name = op.name();
        let started = std::time::Instant::now();
        let (outcome, mut state, fuel_left) = self
            .call_plugin(plugin, state, op, limits.call_timeout)
            .await;
        let elapsed = started.elapsed().as_secs_f64();
        crate::overhead::record_channel_wait(state.channel_wait);
        let fail = |kind| CallError {
            plugin: plugin.label.to_string(),
            kind,
            reached_channel: state.reached_channel,
        };
        let result = match outcome {
            Some(Ok(answer)) => Ok(answer),
            None => Err(fail(CallErrorKind::Timeout(limits.call_timeout))),
            Some(Err(_)) if state.cpu_exhausted => {
                Err(fail(CallErrorKind::CpuExhausted(limits.cpu)))
            }
            Some(Err(_)) if state.memory_exhausted => Err(fail(CallErrorKind::MemoryExhausted(
                limits.memory_bytes >> 20,
            ))),
            Some(Err(e)) => Err(fail(CallErrorKind::Trap(trap_message(&e)))),
        };
        if let Some(mut trace) = state.trace.take() {
            trace.output = Some(output_of(&result));
            trace.fuel = inner.fuel.zip(fuel_left).map(|(start, left)| start - left);
            trace.millis = elapsed * 1000.0;
            if recording {
                inner.recordings.record(
                    &plugin.label,
                    &channel.tenant,
                    &channel.channel,
                    &trace,
                    &channel.secrets,
                );
            }
            if let Some(tracer) = &tracer {
                tracer.push(trace);
            }
        }
        if replaying {
            return result;
        }
        let result = result.inspect_err(|e| tracing::warn!(error = %e, reached_channel = e.reached_channel, "plugin call failed"));
        record_call(plugin, op_name, elapsed, &result);
        result
    }

    /// Runs `op` in a fresh store within the call's limits; `None` when it
    /// did not finish in time. Gives the call's state back, with the fuel
    /// left when the host measures.
    async fn call_plugin(
        &self,
        plugin: &Plugin,
        state: CallState,
        op: Op,
        timeout: std::time::Duration,
    ) -> (Option<wasmtime::Result<Answer>>, CallState, Option<u64>) {
        #[cfg(feature = "native-sandbox")]
        if plugin.native {
            let (state, answer) = super::native::invoke(state, op).await;
            return (Some(Ok(answer)), state, None);
        }
        let inner = &self.inner;
        let mut store = Store::new(&inner.engine, state);
        if let Some(fuel) = inner.fuel {
            store
                .set_fuel(fuel)
                .expect("the measuring engine counts fuel");
        }
        store.limiter(|s| s as &mut dyn wasmtime::ResourceLimiter);
        store.set_epoch_deadline(1);
        // Every tick spent in wasm costs budget; yielding on each tick keeps
        // a runaway plugin from starving the other calls on this worker.
        store.epoch_deadline_callback(|mut cx| {
            let state = cx.data_mut();
            if state.cpu_ticks_left == 0 {
                state.cpu_exhausted = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            state.cpu_ticks_left -= 1;
            Ok(UpdateDeadline::Yield(1))
        });
        let outcome = tokio::time::timeout(timeout, invoke(plugin, &mut store, op))
            .await
            .ok();
        let fuel_left = inner.fuel.and_then(|_| store.get_fuel().ok());
        (outcome, store.into_data(), fuel_left)
    }
}

/// A call's answer as it is recorded and compared.
fn output_of(result: &Result<Answer, CallError>) -> CallOutput {
    match result {
        Ok(Answer::Manifest(..)) => CallOutput::Manifest,
        Ok(Answer::Payment(r)) => CallOutput::Payment(r.clone()),
        Ok(Answer::Refund(r)) => CallOutput::Refund(r.clone()),
        Ok(Answer::Callback(r)) => CallOutput::Callback(r.clone()),
        Ok(Answer::Hold(r)) => CallOutput::Hold(r.clone()),
        Ok(Answer::Statement(r)) => CallOutput::Statement(r.clone()),
        Err(e) => CallOutput::Failed(failure_kind(&e.kind).to_string()),
    }
}

fn failure_kind(kind: &CallErrorKind) -> &'static str {
    match kind {
        CallErrorKind::Trap(_) => "trap",
        CallErrorKind::CpuExhausted(_) => "cpu_exhausted",
        CallErrorKind::MemoryExhausted(_) => "memory_exhausted",
        CallErrorKind::Timeout(_) => "timeout",
        CallErrorKind::Channel(_) => "answered",
    }
}

/// Counts a call on its plugin for as long as it runs.
struct InFlight(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl InFlight {
    fn enter(plugin: &Plugin) -> InFlight {
        plugin
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InFlight(plugin.in_flight.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Calls, latency and failures per plugin version and operation.
/// The manifest probe while loading has no name yet; loads are counted by
/// `paycore_plugin_loads_total` instead.
fn record_call(
    plugin: &Plugin,
    op: &'static str,
    seconds: f64,
    result: &Result<Answer, CallError>,
) {
    if plugin.manifest.name.is_empty() {
        return;
    }
    let name = plugin.manifest.name.clone();
    let version = plugin.manifest.version.to_string();
    let outcome = match result {
        Ok(_) => "answered",
        Err(e) => failure_kind(&e.kind),
    };
    metrics::counter!("paycore_plugin_calls_total", "plugin" => name.clone(), "version" => version.clone(), "op" => op, "result" => outcome)
        .increment(1);
    metrics::histogram!("paycore_plugin_call_duration_seconds", "plugin" => name.clone(), "version" => version.clone(), "op" => op)
        .record(seconds);
    if outcome != "answered" {
        metrics::counter!("paycore_plugin_failures_total", "plugin" => name, "version" => version, "kind" => outcome).increment(1);
    }
}

async fn invoke(plugin: &Plugin, store: &mut Store<CallState>, op: Op) -> wasmtime::Result<Answer> {
    let instance = plugin.exports.instantiate(store).await?;
    let ch = &instance.channel;
    Ok(match op {
        // One instance answers both: its description of its settings
        // belongs with its manifest.
        Op::Manifest => {
            let manifest = ch.call_manifest(&mut *store).await?;
            let settings = match &instance.settings {
                Some(s) => Some(s.call_describe(&mut *store).await?),
                None => None,
            };
            Answer::Manifest(manifest, settings)
        }
        Op::Pay(c, r) => Answer::Payment(ch.call_pay(&mut *store, &c, &r).await?),
        Op::Query(c, r) => Answer::Payment(ch.call_query(&mut *store, &c, &r).await?),
        Op::Close(c, r) => Answer::Payment(ch.call_close(&mut *store, &c, &r).await?),
        Op::Cancel(c, r) => Answer::Payment(ch.call_cancel(&mut *store, &c, &r).await?),
        Op::Refund(c, r) => Answer::Refund(ch.call_refund(&mut *store, &c, &r).await?),
        Op::QueryRefund(c, r) => Answer::Refund(ch.call_query_refund(&mut *store, &c, &r).await?),
        Op::Callback(c, r) => Answer::Callback(ch.call_handle_callback(&mut *store, &c, &r).await?),
        Op::HoldTender(c, r, _) => Answer::Hold(match &instance.tender {
            Some(tender) => tender.call_hold(&mut *store, &c, &r).await?,
            None => Err(wit::ChannelError::InvalidRequest(wit::Failure {
                code: "unsupported_operation".into(),
                message: "this channel does not hold tenders of combined orders (contract 1.1's `tender`)".into(),
                channel_code: None,
                channel_message: None,
            })),
        }),
        Op::Statement(c, day, cursor) => Answer::Statement(match &instance.statement {
            Some(statement) => statement.call_fetch(&mut *store, &c, &day, cursor.as_deref()).await?,
            None => Err(wit::ChannelError::InvalidRequest(wit::Failure {
                code: "unsupported_operation".into(),
                message: "this channel publishes no statement (contract 1.1's `statement`): it cannot be reconciled".into(),
                channel_code: None,
                channel_message: None,
            })),
        }),
    })
}

fn flatten<T>(plugin: &Plugin, answer: Result<T, wit::ChannelError>) -> Result<T, CallError> {
    answer.map_err(|e| CallError {
        plugin: plugin.label.to_string(),
        kind: CallErrorKind::Channel(convert::channel_error(e)),
        reached_channel: false,
    })
}

/// The trap's own words, without the wasm backtrace.
fn trap_message(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => e
            .to_string()
            .lines()
            .next()
            .unwrap_or("unknown failure")
            .to_string(),
    }
}
