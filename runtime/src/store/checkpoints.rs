//! WAL checkpoints out of the commit path (SQLite).
//!
//! SQLite checkpoints by default inside the commit that takes the WAL past
//! 1,000 pages: it copies those pages into the database file and syncs it
//! while the committing writer, and every payment queued behind it, waits.
//! Measured at 700 payments/s, that made p90 about 21 ms against 4 ms with
//! checkpoints here.
//!
//! Here a task of its own copies the WAL back with `PASSIVE` checkpoints on
//! a connection of its own, which never wait for writers nor hold them up.
//! That alone never lets the WAL start over under continuous writes (a
//! checkpoint that started before the last commit has not copied it, and
//! SQLite restarts the WAL only once every frame is copied), so once the
//! WAL passes `RESTART_AT` frames the task takes this process's turn at the
//! file (`write_gate`) between two batches and checkpoints once more: only
//! what was committed since its last pass is left to copy, and the next
//! write restarts the WAL. The group-committing writer's connection does
//! not checkpoint on commit; every other connection still does, past
//! `BACKSTOP_PAGES`, should this task fall behind.

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use std::sync::Weak;
use std::time::Duration;

/// How often the WAL is copied back (a pass with nothing to copy costs
/// one statement).
const EVERY: Duration = Duration::from_millis(100);

/// Frames in the WAL past which it is made to start over (8 MiB of 4 KiB
/// pages).
const RESTART_AT: i64 = 2_000;

/// Every connection's own checkpoint threshold (SQLite's
/// `wal_autocheckpoint`), far past `RESTART_AT`: reached only if the task
/// stopped keeping up.
pub(super) const BACKSTOP_PAGES: u32 = 10_000;

/// Starts checkpointing `pool`'s file for as long as `alive` can be
/// upgraded (the writer task holds it).
pub(super) fn start(pool: SqlitePool, alive: Weak<()>) {
    tokio::spawn(async move {
        let mut conn: Option<SqliteConnection> = None;
        let mut ticker = tokio::time::interval(EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(_alive) = alive.upgrade() else {
                return;
            };
            if conn.is_none() {
                conn = pool.connect_options().connect().await.ok();
            }
            let Some(c) = conn.as_mut() else { continue };
            match checkpoint(c).await {
                // Frames left behind by commits during the pass: one more
                // between two batches copies them, so the WAL can restart.
                // (All copied, the next write restarts it anyway.)
                Ok((frames, copied)) if frames >= RESTART_AT && copied < frames => {
                    let _turn = super::write_gate(&pool).lock_owned().await;
                    if checkpoint(c).await.is_err() {
                        conn = None;
                    }
                }
                Ok(_) => {}
                // A connection that failed is opened again next time.
                Err(_) => conn = None,
            }
        }
    });
}

/// One `PASSIVE` checkpoint; the WAL's size in frames and how many of them
/// are now copied into the database file.
async fn checkpoint(conn: &mut SqliteConnection) -> Result<(i64, i64), sqlx::Error> {
    let (_busy, log, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *conn)
        .await?;
    Ok((log, copied))
}

/// Turns off checkpointing on commit for the writer's own connection.
pub(super) async fn off_on_commit(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("PRAGMA wal_autocheckpoint = 0")
        .execute(conn)
        .await
        .map(drop)
}
