//! Persistence: payments, refunds, the append-only event history, callbacks
//! for audit and the webhook outbox, through sqlx, in SQLite (WAL; the
//! default, one instance) or PostgreSQL (several instances side by side),
//! chosen by the database URL.
//!
//! Both backends run the same statements. Every query is written once with
//! `$N` placeholders, which SQLite accepts too, and `on_db!` compiles it for
//! each pool; the few places where the dialects differ are spelled out next
//! to the query (`Dialects`).
//!
//! Invariant: every write that changes money state runs in one transaction
//! together with its event row (and its outbox row, if any), so the history
//! can never disagree with the state. Writers never rely on holding the
//! whole database: each change is one conditional UPDATE (`version = $n`,
//! `refund_reserved + $n <= amount`), which PostgreSQL re-evaluates against
//! the newest row under READ COMMITTED, and idempotent inserts rest on unique
//! constraints, the loser of a race re-reading the winner's row. SQLite
//! writers start with `BEGIN IMMEDIATE` so it serialises them up front
//! instead of failing on lock upgrade, and queue in the process for their
//! turn at the file rather than sleeping in SQLite's busy handler.
//! Background work (outbox delivery, the sweeper) claims rows for a lease,
//! skipping rows another instance is claiming, so instances share it and a
//! dead instance's rows come back.
//! Only `payments` (the state machine) calls the mutating methods.

mod callbacks;
mod cancels;
mod card_lifecycle;
mod cards;
mod checkout;
mod checkpoints;
mod connect;
mod decisions;
mod group_commit;
mod ledger;
mod ledger_audit;
mod ledger_one_trip;
mod outbox;
mod payment_changes;
mod payment_inserts;
mod payments;
mod published;
mod published_tenants;
mod reconciliations;
mod refund_tenders;
mod refunds;
mod sweeps;
mod tenders;
mod top_ups;
mod unsettled;

pub use callbacks::CallbackRecord;
pub use cancels::CancelStart;
pub use card_lifecycle::{CardChange, CardChangeRefusal};
pub use cards::{CardInsert, CardRecord, CodeUse, NewCard};
pub use checkout::{CheckoutLink, QrCodeRecord, WalletChoice};
pub use connect::redacted_url;

/// SQLite's `synchronous` in WAL mode. `NORMAL` makes a commit durable
/// against a crash of the process (kill -9: the WAL is written before the
/// commit returns) but not of the machine (the WAL is fsynced only at
/// checkpoints, so a power loss can roll back the last commits; the file
/// stays consistent). docs/performance.md states it next to the figures.
pub const SQLITE_SYNCHRONOUS: sqlx::sqlite::SqliteSynchronous =
    sqlx::sqlite::SqliteSynchronous::Normal;
pub use decisions::DecisionKind;
pub use ledger::{Applied, HoldRecord, MoveRefusal, PostingRecord, StatusChange, StrandedHold};
pub use ledger_audit::{AccountTotal, CardDrift, Outstanding, PeriodFlows};
pub use outbox::{OutboxMessage, OutboxRecord};
pub use payments::{
    Attempt, ChannelAssignment, DuePayment, InsertOutcome, Move, NewCheckoutLink, NewPayment,
    PaymentChange, PaymentRecord,
};
pub use published::{PLUGINS_CHANNEL, Publish, PublishedPlugin};
pub use published_tenants::{TENANTS_CHANNEL, TenantPublish, TenantRevision};
pub use reconciliations::{
    ComparedPayment, ComparedRefund, ReconciliationItem, ReconciliationRecord, RunOutcome,
};
pub use refund_tenders::{Allocate, RefundPart, RefundPartRecord, Unallocatable};
pub use refunds::{DueRefund, NewRefund, RefundChange, RefundInsert, RefundRecord};
pub use tenders::{NewTender, TenderMark, TenderRecord};
pub use top_ups::{NewTopUp, TopUpRecord, TopUpStatus};
pub use unsettled::{Unsettled, UnsettledReport};

use crate::clock::Clock;
use crate::domain::EventKind;
use crate::domain::TenantId;
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint, named so callers can map it to a 409.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The row changed since it was read (optimistic concurrency).
    #[error("the record changed concurrently")]
    Stale,
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL `{0}`: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An event to append with a state change.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub from_status: Option<&'static str>,
    pub to_status: Option<&'static str>,
    pub detail: serde_json::Value,
}

pub use paycore_core::config::Backend;

#[derive(Clone)]
pub struct Store {
    db: Db,
    /// The name this process claims background work under (`claimed_by`).
    instance: Arc<str>,
    /// Business time: the timestamps written with a change, leases and
    /// when rows are due.
    clock: Clock,
    /// SQLite: the writer task the hot writes are group-committed by.
    writer: Option<group_commit::Writer>,
}

#[derive(Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend
/// it is: the body is written once and type-checked for each.
macro_rules! on_db {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
use on_db;

/// Implements a helper trait for both backends' connections, from one body.
macro_rules! impl_for_connections {
    (impl $trait:ident { $($item:tt)* }) => {
        impl $trait for sqlx::SqliteConnection { $($item)* }
        impl $trait for sqlx::PgConnection { $($item)* }
    };
}
use impl_for_connections;

/// The text of one statement in each dialect, where they differ.
pub(crate) struct Dialects {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// What differs between the two pools, beyond the SQL they share.
pub(crate) trait Dialect {
    type Database: sqlx::Database;
    /// A transaction for a write.
    async fn begin_write(&self) -> StoreResult<WriteTx<Self::Database>>;
    /// A connection for one statement that writes outside a transaction
    /// (claims, schedules, audit rows).
    async fn write_conn(&self) -> StoreResult<WriteConn<Self::Database>>;
    /// This backend's text of `sql`.
    fn pick(&self, sql: &Dialects) -> &'static str;
}

/// A connection (`WriteConn`) or transaction (`WriteTx`) for a write; on
/// SQLite it holds this process's turn at the database file (see
/// `write_gate`) until it is dropped, so a claim that runs while a payment
/// commits waits its turn in the queue rather than in SQLite's busy handler
/// (which sleeps a millisecond or more and made the tail of payment
/// latency). Derefs to the connection, so statements run on `&mut *tx`.
pub(crate) struct Gated<C> {
    inner: C,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// A pooled connection for a single-statement write.
pub(crate) type WriteConn<DB> = Gated<sqlx::pool::PoolConnection<DB>>;

/// A write transaction.
pub(crate) type WriteTx<DB> = Gated<Transaction<'static, DB>>;

impl<DB: sqlx::Database> WriteTx<DB> {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }
}

impl<C: std::ops::Deref> std::ops::Deref for Gated<C> {
    type Target = C::Target;
    fn deref(&self) -> &C::Target {
        &self.inner
    }
}

impl<C: std::ops::DerefMut> std::ops::DerefMut for Gated<C> {
    fn deref_mut(&mut self) -> &mut C::Target {
        &mut self.inner
    }
}

/// SQLite lets one writer in at a time per database file, and a writer that
/// finds it taken sleeps in SQLite's busy handler (1, 2, 5, 10 ms …) however
/// soon the lock is released: under load most of a payment's latency was
/// spent asleep there while the CPUs idled. This process's writers queue
/// here instead, first come first served, one per file; readers are not
/// held up (WAL). The gate is per file rather than per pool so that every
/// store open on one file in this process shares it.
fn write_gate(pool: &SqlitePool) -> Arc<tokio::sync::Mutex<()>> {
    type Gates = std::collections::HashMap<std::path::PathBuf, Arc<tokio::sync::Mutex<()>>>;
    static GATES: std::sync::OnceLock<std::sync::Mutex<Gates>> = std::sync::OnceLock::new();
    let file = pool.connect_options().get_filename().to_path_buf();
    GATES
        .get_or_init(Default::default)
        .lock()
        .expect("the gates' lock is never held across a panic")
        .entry(file)
        .or_default()
        .clone()
}

impl Dialect for SqlitePool {
    type Database = Sqlite;
    async fn begin_write(&self) -> StoreResult<WriteTx<Sqlite>> {
        let turn = write_gate(self).lock_owned().await;
        // Take the write lock now: a deferred transaction that reads first
        // fails with SQLITE_BUSY when it later tries to write.
        Ok(Gated {
            inner: self.begin_with("BEGIN IMMEDIATE").await?,
            _turn: Some(turn),
        })
    }
    async fn write_conn(&self) -> StoreResult<WriteConn<Sqlite>> {
        let turn = write_gate(self).lock_owned().await;
        Ok(Gated {
            inner: self.acquire().await?,
            _turn: Some(turn),
        })
    }
    fn pick(&self, sql: &Dialects) -> &'static str {
        sql.sqlite
    }
}

impl Dialect for PgPool {
    type Database = Postgres;
    async fn begin_write(&self) -> StoreResult<WriteTx<Postgres>> {
        // READ COMMITTED: every write is a conditional UPDATE or a
        // constrained INSERT, re-checked against the newest row.
        Ok(Gated {
            inner: self.begin().await?,
            _turn: None,
        })
    }
    async fn write_conn(&self) -> StoreResult<WriteConn<Postgres>> {
        Ok(Gated {
            inner: self.acquire().await?,
            _turn: None,
        })
    }
    fn pick(&self, sql: &Dialects) -> &'static str {
        sql.postgres
    }
}

impl Store {
    /// Opens (and migrates) the database the server config names; the error
    /// names it with any password hidden.
    pub async fn open_configured(server: &crate::config::ServerConfig) -> anyhow::Result<Self> {
        use anyhow::Context;
        Store::open(&server.database_url, server.database_max_connections)
            .await
            .with_context(|| {
                format!(
                    "opening the database {}",
                    redacted_url(&server.database_url)
                )
            })
    }

    /// Opens (creating a SQLite file if needed) the database `url` names,
    /// with at most `max_connections` (the backend's default when `None`),
    /// and applies its migrations.
    pub async fn open(url: &str, max_connections: Option<u32>) -> StoreResult<Self> {
        let (db, writer) = match Backend::of_url(url) {
            Some(Backend::Sqlite) => {
                let pool = connect::sqlite(url, max_connections).await?;
                let writer = group_commit::Writer::start(pool.clone(), !connect::in_memory(url));
                (Db::Sqlite(pool), Some(writer))
            }
            Some(Backend::Postgres) => (
                Db::Postgres(connect::postgres(url, max_connections).await?),
                None,
            ),
            None => return Err(StoreError::UnsupportedUrl(redacted_url(url))),
        };
        Ok(Store {
            db,
            writer,
            instance: default_instance_name().into(),
            clock: Clock::system(),
        })
    }

    /// Reads business time from `clock` (the system's by default; a manual
    /// one in tests of leases and expiries).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock this store reads business time from.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Names this process for the rows it claims (`PAYCORE_INSTANCE`, or
    /// host and process id by default).
    pub fn with_instance(mut self, name: &str) -> Self {
        self.instance = name.into();
        self
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The PostgreSQL pool, for `LISTEN`/`NOTIFY`; `None` on SQLite.
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.db {
            Db::Postgres(pool) => Some(pool),
            Db::Sqlite(_) => None,
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        on_db!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Publishes the pool's size and idle connections as gauges.
    pub fn record_pool_gauges(&self) {
        let (size, idle) = on_db!(self, |pool| (pool.size() as f64, pool.num_idle() as f64));
        metrics::gauge!("paycore_db_pool_connections", "state" => "idle").set(idle);
        metrics::gauge!("paycore_db_pool_connections", "state" => "active").set(size - idle);
        if let Some(writer) = &self.writer {
            let (transactions, writes) = writer.committed();
            metrics::counter!("paycore_db_group_commits_total").absolute(transactions);
            metrics::counter!("paycore_db_group_committed_writes_total").absolute(writes);
        }
    }

    /// Appends an event without changing state (e.g. a refused transition);
    /// `subject_type` is `payment` or `refund`.
    async fn record_event(
        &self,
        tenant_id: &TenantId,
        subject_type: &str,
        subject_id: &str,
        event: &Event,
    ) -> StoreResult<()> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            tx.append_event(tenant_id, subject_type, subject_id, event, &self.clock)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The event history of one payment or refund, oldest first.
    pub async fn events_of(
        &self,
        subject_id: &str,
    ) -> StoreResult<Vec<(String, Option<String>, Option<String>)>> {
        let sql =
            "SELECT kind, from_status, to_status FROM events WHERE subject_id = $1 ORDER BY seq";
        Ok(on_db!(self, |pool| {
            sqlx::query_as(sql).bind(subject_id).fetch_all(pool).await
        })?)
    }

    /// Rows per table, for tests that check bad input wrote nothing.
    pub async fn count(&self, table: Table) -> StoreResult<i64> {
        let sql = match table {
            Table::Payments => "SELECT COUNT(*) FROM payments",
            Table::Refunds => "SELECT COUNT(*) FROM refunds",
            Table::Events => "SELECT COUNT(*) FROM events",
            Table::Callbacks => "SELECT COUNT(*) FROM callbacks",
            Table::Outbox => "SELECT COUNT(*) FROM outbox",
        };
        Ok(on_db!(self, |pool| sqlx::query_scalar(sql)
            .fetch_one(pool)
            .await)?)
    }
}

/// `PAYCORE_INSTANCE`, else `<host>-<pid>`: unique among live instances,
/// readable in the outbox's `claimed_by`.
fn default_instance_name() -> String {
    std::env::var("PAYCORE_INSTANCE").unwrap_or_else(|_| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "paycore".into());
        format!("{host}-{}", std::process::id())
    })
}

#[derive(Debug, Clone, Copy)]
pub enum Table {
    Payments,
    Refunds,
    Events,
    Callbacks,
    Outbox,
}

/// Row helpers shared by the modules' transactions.
/// Tells the instances listening on `channel` of a change, inside the
/// transaction that makes it, so they hear of it exactly when it is
/// visible. PostgreSQL only: a SQLite file has one instance, no listeners.
trait Announce {
    async fn announce(&mut self, channel: &str, payload: &str) -> StoreResult<()>;
}

impl Announce for sqlx::SqliteConnection {
    async fn announce(&mut self, _channel: &str, _payload: &str) -> StoreResult<()> {
        Ok(())
    }
}

impl Announce for sqlx::PgConnection {
    async fn announce(&mut self, channel: &str, payload: &str) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(self)
            .await?;
        Ok(())
    }
}

trait EventRows {
    async fn append_event(
        &mut self,
        tenant_id: &TenantId,
        subject_type: &str,
        subject_id: &str,
        event: &Event,
        clock: &Clock,
    ) -> StoreResult<()>;
    /// Appends `events` in order, two to a statement (a round trip fewer
    /// per pair).
    async fn append_events(
        &mut self,
        tenant_id: &TenantId,
        subject_type: &str,
        subject_id: &str,
        events: &[&Event],
        clock: &Clock,
    ) -> StoreResult<()>;
}

impl_for_connections! {
    impl EventRows {
        async fn append_event(
            &mut self,
            tenant_id: &TenantId,
            subject_type: &str,
            subject_id: &str,
            event: &Event,
            clock: &Clock,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO events (tenant_id, subject_type, subject_id, kind, from_status, to_status, detail, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(tenant_id)
            .bind(subject_type)
            .bind(subject_id)
            .bind(event.kind.as_str())
            .bind(event.from_status)
            .bind(event.to_status)
            .bind(event.detail.to_string())
            .bind(clock.now_rfc3339())
            .execute(self)
            .await?;
            Ok(())
        }

        async fn append_events(
            &mut self,
            tenant_id: &TenantId,
            subject_type: &str,
            subject_id: &str,
            events: &[&Event],
            clock: &Clock,
        ) -> StoreResult<()> {
            for pair in events.chunks(2) {
                let [first, second] = pair else {
                    self.append_event(tenant_id, subject_type, subject_id, pair[0], clock).await?;
                    continue;
                };
            // Rows of one INSERT get their sequence numbers in VALUES order.
            sqlx::query(
                "INSERT INTO events (tenant_id, subject_type, subject_id, kind, from_status, to_status, detail, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8), ($1, $2, $3, $9, $10, $11, $12, $8)",
            )
            .bind(tenant_id)
            .bind(subject_type)
            .bind(subject_id)
            .bind(first.kind.as_str())
            .bind(first.from_status)
            .bind(first.to_status)
            .bind(first.detail.to_string())
            .bind(clock.now_rfc3339())
            .bind(second.kind.as_str())
            .bind(second.from_status)
            .bind(second.to_status)
            .bind(second.detail.to_string())
            .execute(&mut *self)
            .await?;
            }
            Ok(())
        }
    }
}

/// Maps a unique-constraint violation to `Conflict(name)`.
fn unique_violation(e: sqlx::Error, name: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(name),
        _ => StoreError::Db(e),
    }
}
