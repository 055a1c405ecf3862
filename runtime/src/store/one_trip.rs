//! SQLite writes in one round trip. sqlx runs each SQLite connection on a
//! thread of its own, and every statement is a hand-off to that thread and
//! back. A payment's writes hold this process's turn at the database file
//! (`write_gate`) from `BEGIN` to `COMMIT`, so under load the hand-offs,
//! each waiting for a busy worker to pick the answer up, decided how many
//! payments per second the file could take. The hot writes (a payment's
//! insert, its settling change) are therefore sent as one script,
//! `BEGIN IMMEDIATE; …; COMMIT`, which the connection's thread runs in one
//! go; a statement that depends on an earlier one's success says so in SQL
//! (`WHERE changes() > 0`).
//!
//! A script is run by a task of its own, so a caller that goes away (a
//! client hanging up) cannot stop it between `BEGIN` and `COMMIT`; a script
//! that fails part-way closes its connection, which rolls the transaction
//! back, rather than return it to the pool inside one.

use super::{Dialect, StoreResult};
use sqlx::sqlite::{Sqlite, SqliteArguments, SqlitePool, SqliteRow};
use sqlx::{FromRow, query::QueryAs};

/// Runs `script` (which must begin with `BEGIN IMMEDIATE` and end with
/// `COMMIT`) as one write; returns the rows its statements returned.
pub(super) async fn write<O>(
    pool: &SqlitePool,
    script: QueryAs<'static, Sqlite, O, SqliteArguments>,
) -> StoreResult<Vec<O>>
where
    O: for<'r> FromRow<'r, SqliteRow> + Send + Unpin + 'static,
{
    let pool = pool.clone();
    tokio::spawn(async move {
        let mut conn = pool.write_conn().await?;
        // `fetch_all`, not `fetch_optional`: a row limit would stop the
        // script at its first row, before its COMMIT.
        match script.fetch_all(&mut *conn).await {
            Ok(rows) => Ok(rows),
            Err(e) => {
                conn.inner.close_on_drop();
                Err(e.into())
            }
        }
    })
    .await
    // Only a runtime shutting down cancels the task; a panic in it would be
    // a bug in sqlx. Either way the write's outcome is unknown to us.
    .unwrap_or(Err(sqlx::Error::WorkerCrashed.into()))
}
