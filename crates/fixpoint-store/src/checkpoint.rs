//! SQLite's WAL checkpoints, off the writer's path.
//!
//! SQLite appends each commit to its write-ahead log and copies the log's pages into
//! the database file at a checkpoint. By default the committing connection does that
//! once the log holds 1,000 pages: copying them and two fsyncs, 10–20 ms during which
//! every queued write waits (one create batch in twelve at 1M tickets, and 40% of the
//! writer's time). Here a connection of its own checkpoints a moment after commits,
//! PASSIVE: writers and readers carry on meanwhile.
//!
//! Under a steady stream of commits that copy never catches the last one, and the log
//! starts again from its beginning only once a checkpoint has copied all of it. So the
//! writer keeps its own automatic checkpoint, at [`WRITER_CHECKPOINT_PAGES`]: it then
//! copies only what arrived since the background checkpoint, and bounds the log.

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::watch;

/// The log length (in pages of 4 KiB) at which the writer checkpoints itself.
pub(crate) const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// The background checkpoint runs at most this often: each costs two fsyncs, and a
/// longer wait copies a page written many times over only once; but the writer's own
/// checkpoint copies whatever the last background one left (100 ms: its long batches
/// took 1.33–1.54 s of 16, p99 of creates 19–24 ms; 25 ms: 1.07–1.08 s, 14–17 ms).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(25);

/// Asks for a checkpoint after commits; its connection is the checkpointer's own.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    committed: watch::Sender<()>,
    pool: SqlitePool,
}

impl Checkpointer {
    /// Starts checkpointing on `pool`'s connection; it stops when this is dropped.
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let (committed, mut due) = watch::channel(());
        let connection = pool.clone();
        tokio::spawn(async move {
            while due.changed().await.is_ok() {
                let copied = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&connection)
                    .await;
                match copied {
                    Ok(_) => {}
                    Err(_) if connection.is_closed() => break,
                    // The writer's own checkpoint stays as the fallback.
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                }
                tokio::time::sleep(CHECKPOINT_EVERY).await;
            }
            connection.close().await;
        });
        Self { committed, pool }
    }

    /// A batch committed: its pages are to be copied.
    pub(crate) fn committed(&self) {
        self.committed.send_replace(());
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}
