//! Persistence: payments, refunds, the append-only event history, callbacks
//! for audit and the webhook outbox, in SQLite (WAL) through sqlx.
//!
//! Invariant: every write that changes money state runs in one transaction
//! together with its event row (and its outbox row, if any), so the history
//! can never disagree with the state. Writers start with `BEGIN IMMEDIATE`
//! so SQLite serialises them up front instead of failing on lock upgrade.
//! Only `payments` (the state machine) calls the mutating methods.

mod callbacks;
mod outbox;
mod payments;
mod refunds;

pub use callbacks::CallbackRecord;
pub use outbox::{OutboxMessage, OutboxRecord};
pub use payments::{
    ChannelSwitch, DuePayment, InsertOutcome, NewPayment, PaymentChange, PaymentRecord,
};
pub use refunds::{DueRefund, NewRefund, RefundChange, RefundInsert, RefundRecord};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

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
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An event to append with a state change.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: &'static str,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database and applies migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(dir) = options.get_filename().parent() {
            // A missing folder is the one set-up step we do for the operator.
            let _ = std::fs::create_dir_all(dir);
        }
        // An in-memory database exists once per connection: keep it to one.
        let max = if url.contains(":memory:") { 1 } else { 8 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Store { pool })
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Publishes the pool's size and idle connections as gauges.
    pub fn record_pool_gauges(&self) {
        let size = self.pool.size() as f64;
        let idle = self.pool.num_idle() as f64;
        metrics::gauge!("paycore_db_pool_connections", "state" => "idle").set(idle);
        metrics::gauge!("paycore_db_pool_connections", "state" => "active").set(size - idle);
    }

    async fn write_tx(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The event history of one payment or refund, oldest first.
    pub async fn events_of(
        &self,
        subject_id: &str,
    ) -> StoreResult<Vec<(String, Option<String>, Option<String>)>> {
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT kind, from_status, to_status FROM events WHERE subject_id = ? ORDER BY seq",
        )
        .bind(subject_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
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
        Ok(sqlx::query_scalar(sql).fetch_one(&self.pool).await?)
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Table {
    Payments,
    Refunds,
    Events,
    Callbacks,
    Outbox,
}

async fn append_event(
    tx: &mut sqlx::SqliteConnection,
    tenant_id: &str,
    subject_type: &str,
    subject_id: &str,
    event: &Event,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO events (tenant_id, subject_type, subject_id, kind, from_status, to_status, detail, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(tenant_id)
    .bind(subject_type)
    .bind(subject_id)
    .bind(event.kind)
    .bind(&event.from_status)
    .bind(&event.to_status)
    .bind(event.detail.to_string())
    .bind(crate::domain::now_rfc3339())
    .execute(tx)
    .await?;
    Ok(())
}

/// Maps a unique-constraint violation to `Conflict(name)`.
fn unique_violation(e: sqlx::Error, name: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(name),
        _ => StoreError::Db(e),
    }
}
