//! Opening a pool on either backend and bringing its schema up to date.
//! Each backend has its own migrations folder, numbered alike: migration N
//! makes the same change in both dialects.

use super::StoreResult;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;
use std::time::Duration;

pub(super) async fn sqlite(url: &str, max_connections: Option<u32>) -> StoreResult<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(super::SQLITE_SYNCHRONOUS)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Checkpoints run beside the writes (`checkpoints`); this is the
        // threshold at which a commit checkpoints should they fall behind.
        .pragma(
            "wal_autocheckpoint",
            super::checkpoints::BACKSTOP_PAGES.to_string(),
        );
    if let Some(dir) = options.get_filename().parent() {
        // A missing folder is the one set-up step we do for the operator.
        let _ = std::fs::create_dir_all(dir);
    }
    // An in-memory database exists once per connection: keep it to one.
    let max = if in_memory(url) {
        1
    } else {
        max_connections.unwrap_or(8)
    };
    // A connection to a local file does not go stale the way a network
    // connection does, and testing it on every acquire (the default) costs
    // a round trip to its thread: a tenth of a payment's CPU.
    let pool = SqlitePoolOptions::new()
        .max_connections(max)
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

/// Whether a SQLite URL names an in-memory database rather than a file.
pub(super) fn in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

pub(super) async fn postgres(url: &str, max_connections: Option<u32>) -> StoreResult<PgPool> {
    let options = PgConnectOptions::from_str(url)?.application_name("paycore");
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.unwrap_or(16))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    // sqlx holds an advisory lock while migrating, so instances starting
    // together apply each migration once.
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(pool)
}

/// `url` without its password, for logs and error messages.
pub fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => url.to_string(),
        // Not a URL we can take apart: show only its scheme.
        Err(_) => url.split("://").next().unwrap_or_default().to_string() + "://…",
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn passwords_never_leave_the_url() {
        assert_eq!(
            redacted_url("postgres://paycore:s3cret@db:5432/paycore"),
            "postgres://paycore:***@db:5432/paycore"
        );
        assert_eq!(
            redacted_url("postgres://db/paycore"),
            "postgres://db/paycore"
        );
        assert_eq!(redacted_url("sqlite://paycore.db"), "sqlite://paycore.db");
    }
}
