//! The end-to-end suite, one test binary: each file beside this one is a
//! module (`cargo test -p paycore-e2e --test e2e payments::` runs one), so
//! wasmtime, sqlx and the runtime are linked once rather than once per file.
//!
//! Tests share the process and run in parallel. Each starts its own runtime
//! on its own port, with its own folder and database; the few that read what
//! a process has only one of (the metrics recorder, the tracing subscriber)
//! run themselves again in a process of their own
//! (`paycore_e2e::ran_in_own_process`).

mod alipay;
mod api_edges;
mod async_results;
mod canary_and_rollback;
mod cancel_and_refund;
mod card_lifecycle;
mod cards;
mod check_config;
mod checkout;
mod checkout_browser;
mod checkout_tenders;
mod combined;
mod config_examples;
mod conformance;
mod contract_1_0;
mod coupons;
mod create_replays;
mod credentials;
mod ecny;
mod fairness;
mod hot_reload;
mod idempotency;
mod isolation_and_bad_input;
mod metrics;
mod otlp;
mod outbound_policy;
mod payments;
mod plugin_cache;
mod plugin_sandbox;
mod provenance;
mod qr_and_callbacks;
mod reconcile_alipay;
mod reconcile_wechatpay;
mod reconciliation;
mod record_replay;
mod refunds;
mod reload_checks;
mod routing;
mod scaffold;
mod secrets_sweep;
mod tracing;
mod unionpay;
mod wechatpay;
