//! Logs and metrics. Logs go through `tracing` (text by default, JSON by
//! config; `RUST_LOG` overrides the filter). Metrics go through the
//! `metrics` facade into one process-wide Prometheus recorder.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use tracing_subscriber::Layer;

/// Keeps the trace exporter alive; dropping it flushes what is buffered.
pub struct TelemetryGuard {
    tracer: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("flushing traces failed: {e}");
        }
    }
}

/// Installs the process's subscriber: text or JSON logs, plus OTLP trace
/// export when `otlp_endpoint` is set. Call once, at start-up.
pub fn init(json: bool, otlp_endpoint: Option<&str>) -> anyhow::Result<TelemetryGuard> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let fmt = if json {
        fmt.json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .boxed()
    } else {
        fmt.boxed()
    };
    let (otel, tracer) = match otlp_endpoint {
        Some(endpoint) => {
            let provider = otlp_tracer(endpoint)?;
            let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "paycore");
            (
                Some(tracing_opentelemetry::layer().with_tracer(tracer)),
                Some(provider),
            )
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    Ok(TelemetryGuard { tracer })
}

/// Spans exported in batches over OTLP/HTTP (protobuf) from a background
/// thread, so exporting never blocks a request.
fn otlp_tracer(endpoint: &str) -> anyhow::Result<opentelemetry_sdk::trace::SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(std::time::Duration::from_secs(5))
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("paycore")
        .build();
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build())
}

/// The Prometheus recorder's handle; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

/// Latency buckets in seconds, from sub-millisecond plugin calls to
/// multi-second channel timeouts.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Metrics {
    /// The process-wide recorder, installed on first use. Every paycore in
    /// the process (tests start several) reports into it.
    pub fn global() -> Metrics {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = HANDLE.get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding
            // application's); then ours still renders what it is given.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        });
        Metrics {
            handle: handle.clone(),
        }
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "paycore_http_requests_total",
        "HTTP requests by method, route template and status"
    );
    describe_histogram!(
        "paycore_http_request_duration_seconds",
        "HTTP request latency by method and route template"
    );
    describe_counter!(
        "paycore_payments_total",
        "Payment status changes by tenant, channel, plugin, version, scene and new status"
    );
    describe_counter!(
        "paycore_refunds_total",
        "Refund status changes by tenant, channel and new status"
    );
    describe_counter!(
        "paycore_plugin_calls_total",
        "Plugin calls by plugin, version, operation and result"
    );
    describe_histogram!(
        "paycore_plugin_call_duration_seconds",
        "Plugin call latency (instantiate + run + host imports)"
    );
    describe_counter!(
        "paycore_plugin_failures_total",
        "Plugin calls that trapped, timed out, or exhausted memory or CPU"
    );
    describe_counter!(
        "paycore_plugin_loads_total",
        "Plugin load attempts by result"
    );
    describe_counter!(
        "paycore_callbacks_total",
        "Inbound channel callbacks by tenant, channel and result"
    );
    describe_counter!(
        "paycore_webhook_deliveries_total",
        "Merchant webhook delivery attempts by result"
    );
    describe_gauge!(
        "paycore_db_pool_connections",
        "Database pool connections by state"
    );
    describe_counter!(
        "paycore_db_group_commits_total",
        "SQLite: transactions the group-committing writer committed"
    );
    describe_counter!(
        "paycore_db_group_committed_writes_total",
        "SQLite: writes those transactions held (over the transactions: the mean batch)"
    );
}
