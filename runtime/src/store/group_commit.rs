//! Group commit on SQLite: the hot writes (a payment's insert, its settling
//! change, a card's ledger move) queue for one writer task, which runs
//! whatever has queued since its last commit in one transaction, each
//! write in a savepoint of its own, and answers each write only once that
//! transaction has committed.
//!
//! Why: SQLite takes one writer at a time, so under load payments queued
//! for their turn at the database file one commit each, and every commit
//! appended the pages it changed to the WAL, the same leaf pages of the
//! same tables over and over. One commit for the batch writes each page
//! once, and the writer's turn at the file is taken once per batch rather
//! than once per write. A lone write (the queue held nothing else) runs as
//! before, `BEGIN IMMEDIATE; …; COMMIT` in one script: at low load nothing
//! waits for a batch to form.
//!
//! What stays exactly as it was: a write is answered after its commit, so
//! every acknowledged payment still survives kill -9; each write's
//! statements are the same conditional statements, seeing the batch's
//! earlier writes as they would have seen them committed (two creates of
//! one order number in one batch: the second finds the first's row). A
//! write whose statements fail is rolled back to its savepoint and answered
//! with its error, the rest of the batch going on without it. If SQLite
//! itself abandons the transaction (a full disk, an I/O error), nothing of
//! the batch was written: the writes not yet answered are run again in a
//! fresh one, so only the write that failed fails.
//!
//! The writer takes this process's turn at the file (`write_gate`) per
//! batch, and writes a database file through a connection of its own kept
//! between batches (an in-memory one through the pool's). It ends when the
//! last `Store` holding it is dropped, and the checkpoint task with it.

use super::{StoreError, StoreResult};
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, ConnectOptions, Execute, FromRow, SqlStr};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// At most this many writes in one transaction: a write queued behind a
/// full batch waits for it, so the cap bounds that wait.
const MAX_BATCH: usize = 64;

/// The savepoint each write of a batch runs in.
const SAVEPOINT: &str = "paycore_write";

/// Sends writes to a store's writer task.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::UnboundedSender<Box<dyn Write>>,
    counts: Arc<Counts>,
}

/// What the writer has committed, for the metrics: writes over
/// transactions is the batches' mean size.
#[derive(Default)]
pub(super) struct Counts {
    /// Transactions committed (a lone write's included).
    pub transactions: AtomicU64,
    /// Writes committed.
    pub writes: AtomicU64,
}

impl Counts {
    /// One transaction of `writes` writes committed.
    fn committed(&self, writes: usize) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(writes as u64, Ordering::Relaxed);
    }
}

impl Writer {
    /// Starts the writer task for `pool` on the current runtime. With
    /// `keep_connection` it writes through a connection of its own (a
    /// database file); without, through the pool's (an in-memory database,
    /// which exists once per connection).
    pub(super) fn start(pool: SqlitePool, keep_connection: bool) -> Self {
        let (queue, writes) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        tokio::spawn(run(pool, writes, counts.clone(), keep_connection));
        Writer { queue, counts }
    }

    /// Transactions and writes committed so far.
    pub(super) fn committed(&self) -> (u64, u64) {
        (
            self.counts.transactions.load(Ordering::Relaxed),
            self.counts.writes.load(Ordering::Relaxed),
        )
    }

    /// Runs the statements of `query` (its SQL without `BEGIN` or `COMMIT`,
    /// its arguments bound) as one write; returns the rows they returned.
    /// Whatever the caller does after sending it (even going away), the
    /// write is committed or rolled back whole.
    pub(super) async fn write<O>(
        &self,
        mut query: impl Execute<'static, Sqlite>,
    ) -> StoreResult<Vec<O>>
    where
        O: for<'r> FromRow<'r, SqliteRow> + Send + Unpin + 'static,
    {
        let args = query
            .take_arguments()
            .map_err(sqlx::Error::Encode)?
            .unwrap_or_default();
        let (reply, answer) = oneshot::channel();
        let write = Typed::<O> {
            body: query.sql(),
            args,
            rows: Vec::new(),
            reply,
        };
        self.queue
            .send(Box::new(write))
            .map_err(|_| StoreError::Db(sqlx::Error::WorkerCrashed))?;
        // The writer answers every write it takes; only a runtime shutting
        // down drops one unanswered, and then its outcome is unknown to us.
        answer
            .await
            .unwrap_or(Err(StoreError::Db(sqlx::Error::WorkerCrashed)))
    }
}

/// How a write's statements are wrapped for the way it runs.
#[derive(Clone, Copy)]
enum Wrap {
    /// Alone: its own transaction.
    Transaction,
    /// In a batch: a savepoint of the batch's transaction.
    Savepoint,
}

impl Wrap {
    fn around(self, body: &str) -> String {
        match self {
            Wrap::Transaction => format!("BEGIN IMMEDIATE;\n{body};\nCOMMIT"),
            Wrap::Savepoint => format!("SAVEPOINT {SAVEPOINT};\n{body};\nRELEASE {SAVEPOINT}"),
        }
    }
}

/// One queued write, whatever rows it returns.
trait Write: Send {
    /// Runs the write's statements on `conn`, keeping the rows they return.
    /// Can run again after a failed batch: its arguments are kept.
    fn run<'c>(
        &'c mut self,
        conn: &'c mut SqliteConnection,
        wrap: Wrap,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>>;

    /// Answers the caller: the rows kept if the write committed.
    fn answer(self: Box<Self>, outcome: Result<(), StoreError>);
}

struct Typed<O> {
    body: SqlStr,
    args: SqliteArguments,
    rows: Vec<O>,
    reply: oneshot::Sender<StoreResult<Vec<O>>>,
}

impl<O> Write for Typed<O>
where
    O: for<'r> FromRow<'r, SqliteRow> + Send + Unpin + 'static,
{
    fn run<'c>(
        &'c mut self,
        conn: &'c mut SqliteConnection,
        wrap: Wrap,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let sql = wrap.around(self.body.as_str());
            // `fetch_all`, not `fetch_optional`: a row limit would stop the
            // script at its first row, before its last statement.
            self.rows = sqlx::query_as_with::<Sqlite, O, _>(AssertSqlSafe(sql), self.args.clone())
                .fetch_all(conn)
                .await?;
            Ok(())
        })
    }

    fn answer(self: Box<Self>, outcome: Result<(), StoreError>) {
        // A caller that went away does not want the rows.
        let Typed { rows, reply, .. } = *self;
        let _ = reply.send(outcome.map(|()| rows));
    }
}

async fn run(
    pool: SqlitePool,
    mut queue: mpsc::UnboundedReceiver<Box<dyn Write>>,
    counts: Arc<Counts>,
    keep_connection: bool,
) {
    // The writer's own connection, kept between batches: SQLite empties a
    // connection's page cache whenever another connection wrote since it
    // last read, so a pooled connection (the pool hands them out in turn)
    // read the tables' pages back from the file on every batch.
    let mut own: Option<SqliteConnection> = None;
    // Checkpoints go on while this task lives (a database file only: an
    // in-memory one has no WAL).
    let alive = Arc::new(());
    if keep_connection {
        super::checkpoints::start(pool.clone(), Arc::downgrade(&alive));
    }
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut pending = std::mem::take(&mut batch);
        // Each pass answers at least one write, so this ends.
        while !pending.is_empty() {
            let _turn = super::write_gate(&pool).lock_owned().await;
            if !keep_connection {
                pending = match pool.acquire().await {
                    Ok(mut conn) => {
                        let (rest, fit) = commit(&mut conn, pending, &counts).await;
                        if !fit {
                            conn.close_on_drop();
                        }
                        rest
                    }
                    Err(e) => answer_all(pending, &e.to_string()),
                };
                continue;
            }
            if own.is_none() {
                match connect(&pool).await {
                    Ok(conn) => own = Some(conn),
                    Err(e) => {
                        pending = answer_all(pending, &e.to_string());
                        continue;
                    }
                }
            }
            let conn = own.as_mut().expect("connected above");
            let (rest, fit) = commit(conn, pending, &counts).await;
            if !fit {
                // Closed by dropping; the next batch connects afresh.
                own = None;
            }
            pending = rest;
        }
    }
}

/// The writer's own connection, which leaves checkpoints to `checkpoints`.
async fn connect(pool: &SqlitePool) -> Result<SqliteConnection, sqlx::Error> {
    let mut conn = pool.connect_options().connect().await?;
    super::checkpoints::off_on_commit(&mut conn).await?;
    Ok(conn)
}

/// Runs `batch` in one transaction on `conn` and answers its writes.
/// Returns the writes to run again when SQLite abandoned the transaction,
/// and whether `conn` is fit to use again (it is not if it could be left
/// inside a transaction).
async fn commit(
    conn: &mut SqliteConnection,
    mut batch: Vec<Box<dyn Write>>,
    counts: &Counts,
) -> (Vec<Box<dyn Write>>, bool) {
    if batch.len() == 1 {
        let mut write = batch.pop().expect("one write");
        let outcome = write.run(conn, Wrap::Transaction).await;
        let fit = match outcome {
            Ok(()) => {
                counts.committed(1);
                true
            }
            Err(_) => roll_back(conn).await,
        };
        write.answer(outcome.map_err(StoreError::from));
        return (Vec::new(), fit);
    }
    if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
        return (answer_all(batch, &e.to_string()), false);
    }
    let mut written = Vec::with_capacity(batch.len());
    let mut writes = batch.into_iter();
    while let Some(mut write) = writes.next() {
        let Err(e) = write.run(conn, Wrap::Savepoint).await else {
            written.push(write);
            continue;
        };
        let undo = format!("ROLLBACK TO {SAVEPOINT}; RELEASE {SAVEPOINT}");
        if sqlx::query(AssertSqlSafe(undo))
            .execute(&mut *conn)
            .await
            .is_ok()
        {
            write.answer(Err(e.into()));
            continue;
        }
        // No savepoint to go back to: SQLite has rolled the whole
        // transaction back, so nothing of this batch is written. The
        // write that failed is answered; the others run again.
        let fit = roll_back(conn).await;
        write.answer(Err(e.into()));
        written.extend(writes);
        return (written, fit);
    }
    match sqlx::query("COMMIT").execute(&mut *conn).await {
        Ok(_) => {
            counts.committed(written.len());
            for write in written {
                write.answer(Ok(()));
            }
            (Vec::new(), true)
        }
        Err(e) => {
            // Not committed: a failed COMMIT leaves the transaction open or
            // rolled back, never half applied.
            let fit = roll_back(conn).await;
            (answer_all(written, &e.to_string()), fit)
        }
    }
}

/// Gives back a transaction a failed write may have left open. False if
/// that failed too (it also fails when there was none to give back): then
/// the connection is closed rather than risk using it again inside a
/// transaction nobody owns.
async fn roll_back(conn: &mut SqliteConnection) -> bool {
    sqlx::query("ROLLBACK").execute(&mut *conn).await.is_ok()
}

/// Answers every write of a batch that was not written with the reason;
/// none is left to run again.
fn answer_all(writes: Vec<Box<dyn Write>>, reason: &str) -> Vec<Box<dyn Write>> {
    for write in writes {
        let error = sqlx::Error::Protocol(format!("the write's batch was not committed: {reason}"));
        write.answer(Err(error.into()));
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    use std::time::Duration;

    /// A database file of its own with one table whose CHECK a write can
    /// break; removed when dropped.
    struct Scratch {
        pool: SqlitePool,
        file: std::path::PathBuf,
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.file.display()));
            }
        }
    }

    async fn scratch() -> Scratch {
        let file = std::env::temp_dir().join(format!(
            "paycore-group-commit-{:016x}.db",
            rand::random::<u64>()
        ));
        let options = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY, v INTEGER NOT NULL CHECK (v >= 0))")
            .execute(&pool)
            .await
            .unwrap();
        Scratch { pool, file }
    }

    fn insert(n: i64) -> sqlx::query::Query<'static, Sqlite, SqliteArguments> {
        sqlx::query("INSERT INTO t (n, v) VALUES ($1, 0) RETURNING n").bind(n)
    }

    /// Sends `first` and waits for the writer to take it alone (it then
    /// waits for the gate this test holds), then queues `rest` behind it,
    /// so that they form one batch once the gate opens.
    async fn queue_behind_one(
        db: &Scratch,
        writer: &Writer,
        first: sqlx::query::Query<'static, Sqlite, SqliteArguments>,
        rest: Vec<sqlx::query::Query<'static, Sqlite, SqliteArguments>>,
    ) -> Vec<StoreResult<Vec<(i64,)>>> {
        let gate = super::super::write_gate(&db.pool).lock_owned().await;
        let mut sent = Vec::new();
        let w = writer.clone();
        sent.push(tokio::spawn(async move { w.write::<(i64,)>(first).await }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        for query in rest {
            let w = writer.clone();
            sent.push(tokio::spawn(async move { w.write::<(i64,)>(query).await }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(gate);
        let mut answers = Vec::new();
        for write in sent {
            answers.push(write.await.unwrap());
        }
        answers
    }

    async fn stored(db: &Scratch) -> Vec<i64> {
        sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(&db.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn queued_writes_commit_together_and_a_failing_one_is_undone_alone() {
        let db = scratch().await;
        let writer = Writer::start(db.pool.clone(), true);
        // Write 7 inserts its row, then breaks the CHECK: its first
        // statement must be undone with it, and nobody else's.
        let rest = (2..=20)
            .map(|n| {
                if n == 7 {
                    sqlx::query(
                        "INSERT INTO t (n, v) VALUES ($1, 0) RETURNING n;
                         INSERT INTO t (n, v) VALUES ($1 + 1000, -1)",
                    )
                    .bind(n)
                } else {
                    insert(n)
                }
            })
            .collect();
        let answers = queue_behind_one(&db, &writer, insert(1), rest).await;

        for (n, answer) in (1..=20).zip(&answers) {
            match answer {
                Ok(rows) if n != 7 => assert_eq!(rows, &vec![(n,)], "write {n}"),
                Err(StoreError::Db(e)) if n == 7 => {
                    assert!(e.to_string().contains("CHECK"), "{e}")
                }
                other => panic!("write {n}: {other:?}"),
            }
        }
        let expected: Vec<i64> = (1..=20).filter(|n| *n != 7).collect();
        assert_eq!(stored(&db).await, expected);
        // The first alone, the other 18 that succeeded in one transaction.
        assert_eq!(writer.committed(), (2, 19));
    }

    #[tokio::test]
    async fn when_sqlite_abandons_the_batch_the_other_writes_run_again() {
        let db = scratch().await;
        let writer = Writer::start(db.pool.clone(), true);
        // Write 4 ends the whole transaction, as SQLite does on a full disk
        // or an I/O error: the writes before it in the batch are gone too.
        let rest = (2..=6)
            .map(|n| {
                if n == 4 {
                    sqlx::query("INSERT INTO t (n, v) VALUES ($1, 0) RETURNING n; ROLLBACK").bind(n)
                } else {
                    insert(n)
                }
            })
            .collect();
        let answers = queue_behind_one(&db, &writer, insert(1), rest).await;

        for (n, answer) in (1..=6).zip(&answers) {
            match answer {
                Ok(rows) if n != 4 => assert_eq!(rows, &vec![(n,)], "write {n}"),
                Err(_) if n == 4 => {}
                other => panic!("write {n}: {other:?}"),
            }
        }
        assert_eq!(stored(&db).await, vec![1, 2, 3, 5, 6]);
        // 1 alone, 2 and 3 lost with the batch and run again with 5 and 6.
        assert_eq!(writer.committed(), (2, 5));
    }

    #[tokio::test]
    async fn a_lone_write_that_fails_leaves_nothing_and_the_next_one_commits() {
        let db = scratch().await;
        let writer = Writer::start(db.pool.clone(), true);
        let broken = sqlx::query(
            "INSERT INTO t (n, v) VALUES (1, 0) RETURNING n; INSERT INTO t (n, v) VALUES (2, -1)",
        );
        assert!(writer.write::<(i64,)>(broken).await.is_err());
        assert_eq!(writer.write::<(i64,)>(insert(3)).await.unwrap(), vec![(3,)]);
        assert_eq!(stored(&db).await, vec![3]);
        assert_eq!(writer.committed(), (1, 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_continuous_writes_the_wal_starts_over_instead_of_growing() {
        let db = scratch().await;
        sqlx::query("CREATE TABLE blobs (n INTEGER PRIMARY KEY, b BLOB NOT NULL)")
            .execute(&db.pool)
            .await
            .unwrap();
        let writer = Writer::start(db.pool.clone(), true);
        // 10,000 rows of 4 KiB (at least a WAL frame each, 40 MiB in all)
        // in rounds of 200 writes, never pausing for longer than a few
        // checkpoints' interval.
        for round in 0..50i64 {
            let mut sent = Vec::new();
            for i in 0..200 {
                let w = writer.clone();
                let query =
                    sqlx::query("INSERT INTO blobs (n, b) VALUES ($1, zeroblob(4096)) RETURNING n")
                        .bind(round * 200 + i);
                sent.push(tokio::spawn(async move { w.write::<(i64,)>(query).await }));
            }
            for write in sent {
                write.await.unwrap().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let wal = std::fs::metadata(format!("{}-wal", db.file.display()))
            .unwrap()
            .len();
        // Without restarts the WAL would hold every frame (over 40 MiB);
        // restarted past 2,000 frames it stays within a few times 8 MiB.
        assert!(wal < 30 << 20, "the WAL grew to {wal} bytes");
        let (_, writes) = writer.committed();
        assert_eq!(writes, 10_000);
    }
}
