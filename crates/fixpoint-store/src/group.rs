//! Group commit for SQLite.
//!
//! SQLite has one writer at a time, and a commit costs far more than the small writes a
//! request makes (every touched page goes to the WAL). So concurrent writes share one
//! database transaction: each joins it in a savepoint of its own, and the last write
//! of a burst (the one that finds nobody queued behind it) commits for all. Every write
//! returns only once its batch is durable; a write that fails or is abandoned rolls
//! back to its savepoint and takes nobody else's work with it. The write that opens a
//! batch needs no savepoint: until it is done the batch holds its work alone.
//!
//! Serialised by one async mutex, the outcome is the same as running the writes one
//! after another: each sees the ones before it, none sees a later one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use crate::checkpoint::Checkpointer;
use crate::db::StoreError;

/// Past this many writes a batch commits even with writers queued, so that none
/// waits on an ever-growing batch.
const WRITES_PER_COMMIT_MAX: usize = 256;

/// Past this age a batch commits even with writers queued: its first write waits for
/// its answer until the batch commits.
const BATCH_AGE_MAX: std::time::Duration = std::time::Duration::from_millis(20);

/// Whether the write that just finished commits the batch for all: when nobody is
/// queued behind it, when the batch is full, or when it has been open long enough.
fn commits_now(writes: usize, queued: usize, age: std::time::Duration) -> bool {
    queued == 0 || writes >= WRITES_PER_COMMIT_MAX || age >= BATCH_AGE_MAX
}

pub struct WriteGroup {
    /// The connection writes go through (one: see `db::SqlitePools`).
    pool: SqlitePool,
    batch: Arc<Mutex<Batch>>,
    /// Writers queued for the mutex: while any are, the holder leaves the batch open.
    queued: AtomicUsize,
    checkpointer: Checkpointer,
}

impl std::fmt::Debug for WriteGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteGroup")
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Batch {
    open: Option<Open>,
}

type Outcome = Option<Result<(), String>>;

struct Open {
    tx: sqlx::Transaction<'static, Sqlite>,
    /// How the write under way would be undone. Outside a holder's turn anything but
    /// `Nothing` means its write was abandoned, and the next holder undoes it.
    undo: Undo,
    writes: usize,
    opened: std::time::Instant,
    committed: watch::Sender<Outcome>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Undo {
    /// No write is under way.
    Nothing,
    /// Back to the write's savepoint: the batch holds others' writes too.
    Savepoint,
    /// The whole transaction: the write opened it, so it holds nobody else's work.
    Batch,
}

const SAVEPOINT: &str = "SAVEPOINT fixpoint_write";
const RELEASE: &str = "RELEASE SAVEPOINT fixpoint_write";
const ROLLBACK: &str = "ROLLBACK TO SAVEPOINT fixpoint_write";

impl WriteGroup {
    pub(crate) fn new(pool: SqlitePool, checkpointer: Checkpointer) -> Self {
        Self {
            pool,
            batch: Default::default(),
            queued: Default::default(),
            checkpointer,
        }
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
        self.checkpointer.close().await;
    }

    /// Joins the open batch with a savepoint of this write's own, or opens one (see
    /// [`Undo`]).
    pub(crate) async fn join(self: Arc<Self>) -> Result<SqliteWrite, StoreError> {
        let queued = Queued::new(self.clone());
        let mut batch = self.batch.clone().lock_owned().await;
        queued.served();
        tidy(&mut batch).await;
        match batch.open.as_mut() {
            None => {
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                batch.open = Some(Open {
                    tx,
                    undo: Undo::Batch,
                    writes: 1,
                    opened: std::time::Instant::now(),
                    committed: watch::channel(None).0,
                });
            }
            Some(open) => {
                if let Err(e) = sqlx::query(SAVEPOINT).execute(&mut *open.tx).await {
                    fail(&mut batch, &e);
                    return Err(e.into());
                }
                open.undo = Undo::Savepoint;
                open.writes += 1;
            }
        }
        Ok(SqliteWrite {
            batch: Some(batch),
            group: self,
        })
    }

    /// Cleans up after an abandoned write and commits what is open if nobody is queued
    /// to do it.
    async fn flush(self: Arc<Self>) {
        let mut batch = self.batch.clone().lock_owned().await;
        tidy(&mut batch).await;
        if self.queued.load(Ordering::SeqCst) == 0 {
            self.commit_open(&mut batch).await;
        }
    }

    fn flush_later(self: Arc<Self>) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(self.flush());
        }
    }
}

/// Undoes an abandoned write.
async fn tidy(batch: &mut Batch) {
    let Some(open) = batch.open.as_mut() else {
        return;
    };
    match open.undo {
        Undo::Nothing => return,
        Undo::Batch => {
            if let Some(open) = batch.open.take() {
                // The connection goes back to its pool either way; a rollback that
                // fails leaves nothing of the transaction behind.
                let _ = open.tx.rollback().await;
            }
            return;
        }
        Undo::Savepoint => {}
    }
    let rolled_back = async {
        sqlx::query(ROLLBACK).execute(&mut *open.tx).await?;
        sqlx::query(RELEASE).execute(&mut *open.tx).await
    }
    .await;
    match rolled_back {
        Ok(_) => {
            open.undo = Undo::Nothing;
            open.writes -= 1;
        }
        Err(e) => fail(batch, &e),
    }
}

/// Gives up on the whole batch: its writes all fail, none lands.
fn fail(batch: &mut Batch, error: &sqlx::Error) {
    if let Some(open) = batch.open.take() {
        open.committed
            .send_replace(Some(Err(format!("the write batch failed: {error}"))));
        // Dropping the transaction rolls it back.
    }
}

/// A commit slower than this is logged: sqlx logs slow statements but not commits, and
/// a commit is where FTS5 writes out its pending index (and, past a long log, where
/// SQLite checkpoints: see [`crate::checkpoint`]).
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_secs(1);

impl WriteGroup {
    async fn commit_open(&self, batch: &mut Batch) {
        let Some(open) = batch.open.take() else {
            return;
        };
        let started = std::time::Instant::now();
        let outcome = open.tx.commit().await.map_err(|e| e.to_string());
        let took = started.elapsed();
        if took > SLOW_COMMIT {
            tracing::warn!(
                millis = took.as_millis() as u64,
                writes = open.writes,
                "slow SQLite commit"
            );
        }
        if outcome.is_ok() {
            self.checkpointer.committed();
        }
        open.committed.send_replace(Some(outcome));
    }
}

/// Counts a writer as queued until it holds the mutex; one that gives up while queued
/// may have been what the holder left the batch open for, so it flushes.
struct Queued {
    group: Option<Arc<WriteGroup>>,
}

impl Queued {
    fn new(group: Arc<WriteGroup>) -> Self {
        group.queued.fetch_add(1, Ordering::SeqCst);
        Self { group: Some(group) }
    }

    fn served(mut self) {
        if let Some(group) = self.group.take() {
            group.queued.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        if let Some(group) = self.group.take() {
            group.queued.fetch_sub(1, Ordering::SeqCst);
            group.flush_later();
        }
    }
}

/// One write's turn in the batch: holds the mutex until committed or dropped.
pub struct SqliteWrite {
    batch: Option<OwnedMutexGuard<Batch>>,
    group: Arc<WriteGroup>,
}

impl SqliteWrite {
    pub(crate) fn connection(&mut self) -> &mut SqliteConnection {
        let open = self
            .batch
            .as_mut()
            .and_then(|b| b.open.as_mut())
            .expect("a write holds an open batch until it commits");
        &mut open.tx
    }

    /// Keeps this write in the batch and returns once the batch has committed.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let mut batch = self.batch.take().expect("committed once");
        let Some(open) = batch.open.as_mut() else {
            return Err(StoreError::Commit("the write batch was abandoned".into()));
        };
        if open.undo == Undo::Savepoint
            && let Err(e) = sqlx::query(RELEASE).execute(&mut *open.tx).await
        {
            tidy(&mut batch).await;
            drop(batch);
            self.group.clone().flush_later();
            return Err(e.into());
        }
        open.undo = Undo::Nothing;
        let mut committed = open.committed.subscribe();
        if commits_now(
            open.writes,
            self.group.queued.load(Ordering::SeqCst),
            open.opened.elapsed(),
        ) {
            self.group.commit_open(&mut batch).await;
        }
        drop(batch);
        let outcome = committed
            .wait_for(Option::is_some)
            .await
            .map(|o| o.clone())
            .unwrap_or_else(|_| Some(Err("the write batch was abandoned".into())));
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(message)) => Err(StoreError::Commit(message)),
            None => unreachable!("waited for an outcome"),
        }
    }
}

impl Drop for SqliteWrite {
    fn drop(&mut self) {
        // Dropped without commit (an error, or the request went away): the write is
        // still under way; the flush undoes it and commits the others' writes.
        if self.batch.take().is_some() {
            self.group.clone().flush_later();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_batch_commits_when_nobody_waits_when_full_or_when_old() {
        let young = Duration::from_millis(1);
        assert!(commits_now(3, 0, young), "nobody queued behind the write");
        assert!(
            !commits_now(3, 5, young),
            "writers queued: they join the batch"
        );
        assert!(commits_now(WRITES_PER_COMMIT_MAX, 5, young), "full");
        assert!(
            commits_now(3, 5, BATCH_AGE_MAX),
            "its first write has waited long enough"
        );
    }
}
