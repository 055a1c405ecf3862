//! Payment rows: what a payment row holds, reading one, and the changes
//! and attempts the writers in `payment_inserts`, `payment_changes` and
//! `payment_checks` are given.

use super::{Event, Store, StoreResult, impl_for_connections, on_db};
use crate::domain::{PaymentId, PaymentStatus, Scene, TenantId};
use crate::money::{Currency, Money};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct PaymentRecord {
    pub id: PaymentId,
    pub tenant_id: TenantId,
    pub merchant_order_no: String,
    pub request_hash: String,
    pub request: String,
    pub status: PaymentStatus,
    pub scene: Scene,
    pub wallet: String,
    pub amount: i64,
    pub currency: Currency,
    pub refunded_amount: i64,
    pub refund_reserved: i64,
    pub channel_id: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub channel_order_no: Option<String>,
    pub action: Option<String>,
    pub failure: Option<String>,
    pub notify_url: Option<String>,
    pub metadata: String,
    pub review_reason: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub created_ms: i64,
    /// JSON array of the channels tried, oldest first.
    pub attempts: String,
    /// Scene `checkout`: paycore's page for the payer.
    pub checkout_url: Option<String>,
    /// 1 while a cancel (reversal) is under way or its outcome is unknown:
    /// no refund may be reserved then (see `start_cancel`).
    pub cancel_in_progress: i64,
    /// When a cancel was first sent to the channel; never cleared.
    pub cancel_started_ms: Option<i64>,
    /// The error the create answered with, as `payments::CreateError`
    /// JSON; none when it answered with the payment.
    pub create_error: Option<String>,
    /// A combined order: what its channel (its external tender) is asked
    /// for; none when the channel takes the whole amount.
    pub channel_amount: Option<i64>,
}

impl PaymentRecord {
    /// What the payment's channel is asked for: the whole amount, or a
    /// combined order's external tender's part.
    pub fn channel_amount(&self) -> i64 {
        self.channel_amount.unwrap_or(self.amount)
    }

    /// A combined order (a body with `tenders`).
    pub fn is_combined(&self) -> bool {
        self.channel_amount.is_some()
    }

    /// A combined order paid by coupons and cards alone: no channel is
    /// asked, the ledger alone says where it stands.
    pub fn is_closed_loop_order(&self) -> bool {
        self.channel_amount == Some(0)
    }

    /// What the payer is asked to pay.
    pub fn money(&self) -> Money {
        Money::new(self.amount, self.currency.clone())
    }

    /// What refunds hold of it (reserved, whether or not they succeeded yet).
    pub fn refunds_reserved(&self) -> Money {
        Money::new(self.refund_reserved, self.currency.clone())
    }

    /// How long the payer has to pay, if the create named it
    /// (`expires_in`, kept in the stored request).
    pub fn expires_in(&self) -> Option<std::time::Duration> {
        serde_json::from_str::<serde_json::Value>(&self.request)
            .ok()
            .and_then(|r| r["expires_in"].as_u64())
            .map(std::time::Duration::from_secs)
    }

    /// A checkout payment whose payer has not chosen a wallet yet: no
    /// channel was asked, so nothing can have been paid. (A combined order
    /// paid by coupons and cards alone has no channel either, but is no
    /// longer awaiting anything.)
    pub fn awaiting_wallet(&self) -> bool {
        self.channel_id.is_empty() && !self.is_combined()
    }

    /// A cancel was sent to the channel (and may have reversed it) and has
    /// not been shown to have failed.
    pub fn cancelling(&self) -> bool {
        self.cancel_in_progress != 0
    }
}

#[cfg(test)]
impl PaymentRecord {
    /// A stored payment for unit tests: `unknown`, 100 CNY by barcode on
    /// channel `c` (plugin `sandbox@1.0.0`), created at 1,000,000 ms.
    pub fn example() -> Self {
        PaymentRecord {
            id: "pay_1".into(),
            tenant_id: "t".into(),
            merchant_order_no: "A1".into(),
            request_hash: String::new(),
            request: "{}".into(),
            status: PaymentStatus::Unknown,
            scene: Scene::Barcode,
            wallet: "sandbox".into(),
            amount: 100,
            currency: Currency::parse("CNY").unwrap(),
            refunded_amount: 0,
            refund_reserved: 0,
            channel_id: "c".into(),
            plugin_name: "sandbox".into(),
            plugin_version: "1.0.0".into(),
            channel_order_no: None,
            action: None,
            failure: None,
            notify_url: None,
            metadata: "{}".into(),
            review_reason: None,
            version: 0,
            created_at: String::new(),
            updated_at: String::new(),
            created_ms: 1_000_000,
            attempts: "[]".into(),
            checkout_url: None,
            cancel_in_progress: 0,
            cancel_started_ms: None,
            create_error: None,
            channel_amount: None,
        }
    }
}

/// An open payment the sweeper should look at, with how often it did.
#[derive(Debug, Clone, FromRow)]
pub struct DuePayment {
    #[sqlx(flatten)]
    pub record: PaymentRecord,
    pub checks: i64,
}

/// A payment about to be submitted; it is stored as `unknown` before the
/// channel is called, so a crash mid-call leaves a row the sweeper resolves.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub id: PaymentId,
    pub tenant_id: TenantId,
    pub merchant_order_no: String,
    pub request_hash: String,
    pub request: String,
    pub scene: Scene,
    pub amount: i64,
    pub currency: Currency,
    /// The route's first channel; none for the hosted page until the payer
    /// chooses a wallet.
    pub channel: Option<ChannelAssignment>,
    /// Its first status and `payment.created` event, as the state machine
    /// decided (`payments::machine::create`).
    pub status: PaymentStatus,
    pub created: Event,
    pub notify_url: Option<String>,
    pub metadata: String,
    pub idempotency_key: Option<String>,
    /// Scene `checkout`: stored `pending` with no channel, and its link.
    pub checkout: Option<NewCheckoutLink>,
    /// A combined order: what its channel is asked for (its external
    /// tender's amount); none when that is the whole amount.
    pub channel_amount: Option<i64>,
    /// A combined order's tenders, stored with it.
    pub tenders: Vec<super::tenders::NewTender>,
}

/// The hosted page's link for a new checkout payment.
#[derive(Debug, Clone)]
pub struct NewCheckoutLink {
    pub token: String,
    pub url: String,
    pub return_url: Option<String>,
    pub expires_ms: i64,
}

/// The channel a payment is sent to: the tenant's channel, the plugin
/// version serving it, and the wallet it is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelAssignment {
    pub channel_id: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub wallet: String,
}

impl ChannelAssignment {
    /// `name@version`, as events show it.
    pub fn plugin_label(&self) -> String {
        format!("{}@{}", self.plugin_name, self.plugin_version)
    }
}

/// A move of a payment's channel or status that the state machine decided
/// (`payments::machine`): written only while the row still has `from` and
/// the version it was read at, with `event`.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub from: PaymentStatus,
    pub to: PaymentStatus,
    pub event: Event,
}

pub enum InsertOutcome {
    Created(PaymentRecord),
    /// The order number or idempotency key was seen before.
    Existing {
        record: PaymentRecord,
        same_request: bool,
    },
}

/// A state change decided by the state machine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaymentChange {
    pub status: Option<PaymentStatus>,
    pub channel_order_no: Option<String>,
    pub action: Option<serde_json::Value>,
    pub failure: Option<Option<serde_json::Value>>,
    pub review_reason: Option<String>,
    /// The channel attempt that produced this change, recorded with it.
    pub attempt: Option<Attempt>,
}

/// One call to a channel, for the payment's history: its entry in the
/// payment's `attempts` (compact JSON) and its `payment.attempt` event.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub entry: serde_json::Value,
    pub event: Event,
    /// The error the create answers with after this attempt, kept with the
    /// payment (`create_error`) in the same write, for the create's replays.
    pub create_error: Option<String>,
}

impl Store {
    pub async fn payment(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
    ) -> StoreResult<Option<PaymentRecord>> {
        on_db!(self, |pool| pool
            .acquire()
            .await?
            .fetch_payment(tenant_id, id)
            .await)
    }

    pub async fn payment_by_order_no(
        &self,
        tenant_id: &TenantId,
        merchant_order_no: &str,
    ) -> StoreResult<Option<PaymentRecord>> {
        on_db!(self, |pool| pool
            .acquire()
            .await?
            .fetch_order(tenant_id, merchant_order_no)
            .await)
    }
}

pub(super) trait PaymentRows {
    async fn fetch_order(
        &mut self,
        tenant_id: &TenantId,
        merchant_order_no: &str,
    ) -> StoreResult<Option<PaymentRecord>>;
    async fn fetch_payment(
        &mut self,
        tenant_id: &TenantId,
        id: &PaymentId,
    ) -> StoreResult<Option<PaymentRecord>>;
}

impl_for_connections! {
    impl PaymentRows {
        async fn fetch_order(
            &mut self,
            tenant_id: &TenantId,
            merchant_order_no: &str,
        ) -> StoreResult<Option<PaymentRecord>> {
            Ok(sqlx::query_as("SELECT * FROM payments WHERE tenant_id = $1 AND merchant_order_no = $2")
                .bind(tenant_id)
                .bind(merchant_order_no)
                .fetch_optional(self)
                .await?)
        }

        async fn fetch_payment(
            &mut self,
            tenant_id: &TenantId,
            id: &PaymentId,
        ) -> StoreResult<Option<PaymentRecord>> {
            Ok(sqlx::query_as("SELECT * FROM payments WHERE id = $1 AND tenant_id = $2")
                .bind(id)
                .bind(tenant_id)
                .fetch_optional(self)
                .await?)
        }
    }
}
