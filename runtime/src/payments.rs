//! The payment service: the only writer of payment and refund state. Every
//! change is decided by the state machine (`machine`), written with its
//! event (and webhook) in one transaction, and decided again when another
//! writer changed the row first (`retry`).

mod attempts;
mod card_follow_ups;
mod checkout;
pub mod checkout_tenders;
pub mod convert;
mod create_error;
mod failed_call;
mod health;
mod lifecycle;
pub mod machine;
pub mod qr_codes;
mod refunds;
mod retry;
mod settle;
mod statements;
mod tender_refunds;
mod tenders;
pub mod view;
/// The create-payment body and its validation live in the pure core.
pub use paycore_core::request;
pub use statements::Statement;
pub use tenders::{CombinedExplanation, TenderExplanation};

use crate::clock::Clock;
use crate::domain::{PaymentId, Scene};
use crate::plugin_host::PluginHost;
use crate::registry::{BoundChannel, Registry, Tenant};
use crate::routing::{self, Intent, NoRoute};
use crate::store::{
    ChannelAssignment, InsertOutcome, NewPayment, PaymentRecord, Store, StoreError,
};
use attempts::{attempt_history, attempt_outcome, pay_failure};
pub use checkout::{CheckoutPage, PayerContext, WalletOffer};
pub use create_error::CreateError;
use failed_call::FailedCall;
pub use failed_call::ORDER_NOT_FOUND;
pub use health::{BreakerView, ChannelHealth};
use machine::Cause;
use paycore_core::channel;
use request::{FieldError, PaymentRequest};
use retry::retry_on_stale;
use std::sync::{Arc, RwLock};
use view::PaymentView;

/// What can go wrong in a payment operation, in terms the API maps to statuses.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Invalid {
        field: String,
        message: String,
        missing: bool,
    },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Unacceptable {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("no channel can serve this payment")]
    NoRoute(NoRoute),
    /// The channel failed. `payment` is the payment as it now stands
    /// (`unknown` when money may have moved).
    #[error("{message}")]
    Channel {
        code: &'static str,
        message: String,
        timeout: bool,
        payment: Option<Box<PaymentView>>,
    },
    /// A create stored its payment but the channel refused it, could not
    /// take it, or left its outcome unknown. `payment` is the payment as it
    /// now stands; `replayed` when this answers an identical earlier create
    /// (the same error as its first answer).
    #[error("{}", .error.message())]
    Create {
        error: CreateError,
        payment: Box<PaymentView>,
        replayed: bool,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A card top-up's follow-up (taking refunded value back) failed.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::TopUpError),
}

impl From<FieldError> for PaymentError {
    fn from(e: FieldError) -> Self {
        PaymentError::Invalid {
            field: e.field,
            message: e.message,
            missing: e.missing,
        }
    }
}

pub type Result<T> = std::result::Result<T, PaymentError>;

/// The result of a create: the payment and whether it is a replay.
pub struct Created {
    pub payment: PaymentView,
    pub replayed: bool,
}

/// Whose answer a submission to a channel is. A create's error is kept
/// with the payment for its replays; a payer's wallet choice on the hosted
/// page comes after the create answered, so its error is the page's alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answering {
    Create,
    HostedPage,
}

pub struct Payments {
    pub(crate) store: Store,
    pub(crate) host: PluginHost,
    /// Card top-ups credited when their payment succeeds, and taken back
    /// when it is refunded (`card_follow_ups`).
    ledger: crate::ledger::Ledger,
    registry: RwLock<Arc<Registry>>,
    public_url: RwLock<String>,
    health: ChannelHealth,
    /// How long a pending payment waits without its own `expires_in`
    /// (the sweeper's `pending_expiry`); a checkout link lives as long.
    pending_expiry: std::time::Duration,
    /// After this many checks by the sweeper an open payment or refund is
    /// reported as unsettled (its back-off schedule's length).
    unsettled_after_checks: i64,
    /// Business time (the store's clock): expiries, routing's time windows,
    /// the breakers' cool-offs.
    clock: Clock,
}

impl Payments {
    pub fn new(store: Store, host: PluginHost, registry: Registry, public_url: String) -> Self {
        Payments {
            clock: store.clock().clone(),
            ledger: crate::ledger::Ledger::new(store.clone()),
            store,
            host,
            registry: RwLock::new(Arc::new(registry)),
            public_url: RwLock::new(public_url),
            health: ChannelHealth::default(),
            pending_expiry: std::time::Duration::from_secs(7200),
            unsettled_after_checks: 8,
        }
    }

    /// The ledger over this store (cards and their values).
    pub fn ledger(&self) -> &crate::ledger::Ledger {
        &self.ledger
    }

    /// The clock business time is read from (the store's).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// For unit tests: no tenants, an empty in-memory store, business time
    /// read from `clock`.
    #[cfg(test)]
    pub(crate) async fn for_tests(clock: &Clock) -> Payments {
        let store = Store::open("sqlite::memory:", None)
            .await
            .expect("an in-memory store")
            .with_clock(clock.clone());
        let host = PluginHost::new(Default::default()).expect("a plugin host");
        Payments::new(
            store,
            host,
            Registry::default(),
            "http://paycore.test".into(),
        )
    }

    /// Reports open rows as unsettled once the sweeper has asked about them
    /// through its whole back-off schedule.
    pub fn with_unsettled_after_checks(mut self, checks: usize) -> Self {
        self.unsettled_after_checks = checks.max(1) as i64;
        self
    }

    /// Open payments and refunds the sweeper has not managed to settle
    /// (the `limit` oldest listed): a person should look at them.
    pub async fn unsettled(&self, limit: i64) -> Result<crate::store::UnsettledReport> {
        Ok(self
            .store
            .unsettled(self.unsettled_after_checks, limit)
            .await?)
    }

    /// Sets the expiry of pending payments that name none (the sweeper's).
    pub fn with_pending_expiry(mut self, expiry: std::time::Duration) -> Self {
        self.pending_expiry = expiry;
        self
    }

    /// paycore's own base URL, as channels and payers reach it.
    pub fn public_url(&self) -> String {
        self.public_url.read().expect("public url lock").clone()
    }

    pub fn registry(&self) -> Arc<Registry> {
        self.registry.read().expect("registry lock").clone()
    }

    pub fn swap_registry(&self, registry: Registry) {
        *self.registry.write().expect("registry lock") = Arc::new(registry);
    }

    /// Refuses a notify URL whose host is, or resolves to, an address the
    /// outbound policy forbids, so the merchant hears of it now rather than
    /// through dead-lettered webhooks. Delivery checks again.
    async fn check_notify_url(&self, url: &str) -> Result<()> {
        let parsed = url::Url::parse(url).map_err(|e| PaymentError::Unacceptable {
            code: "invalid_field",
            message: format!("not a URL: {e}"),
            field: Some("notify_url".into()),
        })?;
        crate::outbound::check_url_now(&self.host.outbound().addresses, &parsed)
            .await
            .map_err(|why| PaymentError::Unacceptable {
                code: "notify_url_refused",
                message: format!("webhooks cannot be sent there: {why}"),
                field: Some("notify_url".into()),
            })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn call_context(&self, tenant: &str, channel: &BoundChannel) -> channel::CallContext {
        let base = self.public_url.read().expect("public url lock").clone();
        channel::CallContext {
            tenant: tenant.to_string(),
            channel: channel.id.clone(),
            settings: channel.settings.clone(),
            notify_url: format!("{base}/v1/callbacks/{tenant}/{}", channel.id),
        }
    }

    /// The bound channel a stored payment was made on, served by the plugin
    /// version that created it while that version stays loaded (so a refund
    /// of an old payment goes through the code that took it).
    fn channel_of(&self, tenant: &Tenant, payment: &PaymentRecord) -> Result<Arc<BoundChannel>> {
        let current = tenant
            .channel(&payment.channel_id)
            .cloned()
            .ok_or_else(|| PaymentError::Unacceptable {
                code: "channel_unavailable",
                message: format!(
                    "channel `{}` is not configured for this tenant any more",
                    payment.channel_id
                ),
                field: None,
            })?;
        let manifest = &current.plugin.manifest;
        if manifest.name == payment.plugin_name
            && manifest.version.to_string() == payment.plugin_version
        {
            return Ok(current);
        }
        match self
            .registry()
            .plugin(&payment.plugin_name, &payment.plugin_version)
        {
            Some(original) => Ok(Arc::new(current.with_plugin(original))),
            None => Ok(current),
        }
    }

    pub async fn get(&self, tenant: &Tenant, id: &PaymentId) -> Result<PaymentView> {
        let view = PaymentView::from(&self.load(&tenant.config.id, id).await?);
        self.with_tenders(tenant, view).await
    }

    pub async fn get_by_order_no(&self, tenant: &Tenant, order_no: &str) -> Result<PaymentView> {
        let p = self
            .store
            .payment_by_order_no(&tenant.config.id, order_no)
            .await?
            .ok_or(PaymentError::NotFound)?;
        self.with_tenders(tenant, PaymentView::from(&p)).await
    }

    /// Creates and submits a payment, idempotently on the merchant order
    /// number and on the `Idempotency-Key`.
    #[tracing::instrument(skip_all, fields(tenant = %tenant.config.id, payment_id, channel))]
    pub async fn create(
        &self,
        tenant: &Tenant,
        request: PaymentRequest,
        idempotency_key: Option<String>,
    ) -> Result<Created> {
        let tenant_id = &tenant.config.id;
        let hash = request::fingerprint(&request);
        if request.notify_url.is_some() && tenant.config.webhook_secret.is_none() {
            return Err(PaymentError::Unacceptable {
                code: "webhooks_not_configured",
                message: "the tenant has no webhook secret, so paycore cannot sign webhooks to notify_url".into(),
                field: Some("notify_url".into()),
            });
        }
        if let Some(url) = &request.notify_url {
            self.check_notify_url(url).await?;
        }
        if request.is_combined() {
            return self
                .create_combined(tenant, request, hash, idempotency_key)
                .await;
        }
        if request.scene == Scene::Checkout {
            return self
                .create_checkout(tenant, request, hash, idempotency_key)
                .await;
        }
        let now = self.clock.now();
        let intent = Intent::from(&request);
        let route = tracing::info_span!("routing").in_scope(|| {
            let route = routing::route(tenant, &intent, now, &self.health.of(tenant));
            match &route {
                Ok(r) => {
                    let channels: Vec<&str> =
                        r.candidates.iter().map(|c| c.channel.id.as_str()).collect();
                    tracing::info!(channel = channels[0], candidates = ?channels, "route chosen")
                }
                Err(no) => tracing::info!(reasons = ?no.reasons, "no route"),
            }
            route
        });
        // A replay must not depend on routing (config may have changed
        // since): the insert below finds an existing order whatever the
        // route, and a missing route is believed only once the order number
        // is known to be new. New orders, the common case, are not looked up
        // twice.
        let mut route = match route {
            Ok(route) => route,
            Err(no_route) => {
                return match self
                    .store
                    .payment_by_order_no(tenant_id, &request.merchant_order_no)
                    .await?
                {
                    Some(existing) => replay(existing, &hash),
                    None => Err(PaymentError::NoRoute(no_route)),
                };
            }
        };
        serve_order(&mut route, &request.merchant_order_no);
        let first = &route.candidates[0];
        let channel = &first.channel;
        let id = PaymentId::generate();
        tracing::Span::current()
            .record("payment_id", id.as_str())
            .record("channel", channel.id.as_str());
        let assignment = assignment(first);
        let (status, created) = machine::create(Some(&assignment));
        let new = NewPayment {
            id,
            channel: Some(assignment),
            status,
            created,
            ..new_payment(tenant_id, &request, hash, idempotency_key)
        };
        let record = match inserted(self.store.insert_payment(new).await?) {
            Ok(record) => record,
            Err(answer) => return answer,
        };
        self.submit(tenant, record, &request, &route, Answering::Create)
            .await
    }

    /// Sends a stored `unknown` payment to its route's channels in order
    /// (the record is on the first one), falling back only while a channel
    /// certainly took no money, and settles it on the answer.
    async fn submit(
        &self,
        tenant: &Tenant,
        mut record: PaymentRecord,
        request: &PaymentRequest,
        route: &routing::Route,
        answering: Answering,
    ) -> Result<Created> {
        let tenant_id = &tenant.config.id;
        let last = route.candidates.len() - 1;
        for (i, candidate) in route.candidates.iter().enumerate() {
            if i > 0 {
                match self.switch_channel(record, candidate).await? {
                    Ok(r) => record = r,
                    // Settled meanwhile (by a query or callback): stop here.
                    Err(settled) => {
                        return Ok(Created {
                            payment: PaymentView::from(&settled),
                            replayed: false,
                        });
                    }
                }
            }
            let channel = &candidate.channel;
            let ctx = self.call_context(tenant_id, channel);
            let answer = self
                .host
                .pay(
                    &channel.plugin,
                    channel.grant.clone(),
                    ctx,
                    convert::pay_request(&record, request),
                )
                .await;
            let (proposal, error) = match &answer {
                Ok(result) => (settle::from_payment_result(&record, result), None),
                Err(e) => pay_failure(e, FailedCall::of(e)),
            };
            let attempt = attempt_outcome(&answer, &proposal);
            self.health.record(
                tenant,
                &channel.id,
                attempt.unhealthy.as_deref(),
                self.clock.now(),
            );
            let mut history = attempt_history(&record, channel, &attempt, &route.rule);
            if attempt.may_fall_back && i < last {
                tracing::info!(channel = %channel.id, outcome = attempt.outcome, "channel took no money; trying the next one");
                record = self.store.record_attempt(&record, &history, None).await?;
                continue;
            }
            if answering == Answering::Create {
                history.create_error = error.as_ref().map(CreateError::to_column);
            }
            // The attempt is written with the answer it brought, and the
            // create's error with it, in one transaction: a payment costs
            // two writes, its insert and this.
            let record = self
                .settle(tenant, record, proposal, Cause::Pay, Some(history))
                .await?;
            return answered(&record, error);
        }
        unreachable!("a route has at least one candidate and the last one always returns")
    }

    /// Explains how a payment would be routed now; creates nothing.
    pub fn explain(&self, tenant: &Tenant, request: &PaymentRequest) -> routing::Explanation {
        routing::explain(
            tenant,
            &Intent::from(request),
            self.clock.now(),
            &self.health.of(tenant),
        )
    }

    pub fn health(&self) -> &ChannelHealth {
        &self.health
    }

    /// Moves a still-unknown payment to the next candidate. `Ok(Err(p))`
    /// when the payment left `unknown` meanwhile and must not be re-sent.
    async fn switch_channel(
        &self,
        record: PaymentRecord,
        to: &routing::Candidate,
    ) -> Result<std::result::Result<PaymentRecord, PaymentRecord>> {
        let to = &assignment(to);
        let (tenant_id, id) = (record.tenant_id.clone(), record.id.clone());
        retry_on_stale(
            record,
            |record| async move {
                match machine::switch_channel(&record, to) {
                    Some(decided) => Ok(Ok(self
                        .store
                        .switch_payment_channel(&record, to, &decided)
                        .await?)),
                    None => Ok(Err(record)),
                }
            },
            || self.load(&tenant_id, &id),
        )
        .await
    }
}

/// A create's first answer: the payment as settled, or the error it
/// answered with, the payment beside it.
fn answered(record: &PaymentRecord, error: Option<CreateError>) -> Result<Created> {
    let payment = PaymentView::from(record);
    match error {
        None => Ok(Created {
            payment,
            replayed: false,
        }),
        Some(error) => Err(PaymentError::Create {
            error,
            payment: Box::new(payment),
            replayed: false,
        }),
    }
}

/// What a create stores for `request`: a new id, no channel, the hosted
/// page's first status; callers set what differs.
fn new_payment(
    tenant_id: &crate::domain::TenantId,
    request: &PaymentRequest,
    request_hash: String,
    idempotency_key: Option<String>,
) -> NewPayment {
    let (status, created) = machine::create(None);
    NewPayment {
        id: PaymentId::generate(),
        tenant_id: tenant_id.clone(),
        merchant_order_no: request.merchant_order_no.clone(),
        request_hash,
        request: serde_json::to_string(request).expect("requests always serialise"),
        scene: request.scene,
        amount: request.amount,
        currency: request.currency.clone(),
        channel: None,
        status,
        created,
        notify_url: request.notify_url.clone(),
        metadata: serde_json::to_string(&request.metadata).expect("a string map serialises"),
        idempotency_key,
        checkout: None,
        channel_amount: None,
        tenders: Vec::new(),
    }
}

/// The payment an insert stored, or — its order number or idempotency
/// key taken — the create's answer: the first answer again for the same
/// request, a conflict for another.
fn inserted(outcome: InsertOutcome) -> std::result::Result<PaymentRecord, Result<Created>> {
    match outcome {
        InsertOutcome::Created(record) => Ok(record),
        InsertOutcome::Existing {
            record,
            same_request,
        } => Err(if same_request {
            replayed(&record)
        } else {
            Err(conflict())
        }),
    }
}

/// The channel, plugin version and wallet a route's candidate sends to.
fn assignment(candidate: &routing::Candidate) -> ChannelAssignment {
    let m = &candidate.channel.plugin.manifest;
    ChannelAssignment {
        channel_id: candidate.channel.id.clone(),
        plugin_name: m.name.clone(),
        plugin_version: m.version.to_string(),
        wallet: candidate.wallet.clone(),
    }
}

/// Binds each candidate to the version that serves this order (a canary's
/// share of order numbers goes to the canary, the same one on every retry).
fn serve_order(route: &mut routing::Route, merchant_order_no: &str) {
    for candidate in &mut route.candidates {
        candidate.channel = candidate.channel.serving(merchant_order_no);
    }
}

fn conflict() -> PaymentError {
    PaymentError::Conflict {
        code: "idempotency_conflict",
        message:
            "this merchant_order_no or Idempotency-Key was used before with a different request"
                .into(),
    }
}

fn replay(existing: PaymentRecord, hash: &str) -> Result<Created> {
    if existing.request_hash == hash {
        replayed(&existing)
    } else {
        Err(conflict())
    }
}

/// The answer to an identical create: the first answer again — the same
/// error if it answered with one — with the payment as it now stands. A
/// create still in flight, or cut short before it answered, has no error
/// kept: its payment is answered as it stands.
fn replayed(existing: &PaymentRecord) -> Result<Created> {
    let payment = PaymentView::from(existing);
    match CreateError::of(existing) {
        None => Ok(Created {
            payment,
            replayed: true,
        }),
        Some(error) => Err(PaymentError::Create {
            error,
            payment: Box::new(payment),
            replayed: true,
        }),
    }
}
