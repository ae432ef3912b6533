//! The database handle, transactions, and the one place where sea-query statements
//! become SQL for the backend: SQLite (embedded default) or PostgreSQL.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sea_query::{
    DeleteStatement, InsertStatement, PostgresQueryBuilder, QueryBuilder, SqliteQueryBuilder,
    UpdateStatement,
};
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, PgPool, Postgres, Sqlite, SqlitePool};

/// A connection to run store functions on: a [`Read`] for reads, a [`Tx`] for writes.
/// Store functions take `&mut Conn` and never know which backend answers.
pub type Conn = dyn Connection;

/// The backend connection underneath a [`Read`] or a [`Tx`].
pub enum Raw<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

pub trait Connection: Send {
    fn raw(&mut self) -> Raw<'_>;
}

/// Which database answers: for the few statements whose SQL differs (full-text search,
/// collations), decided once when a query is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend(conn: &mut Conn) -> Backend {
    match conn.raw() {
        Raw::Sqlite(_) => Backend::Sqlite,
        Raw::Postgres(_) => Backend::Postgres,
    }
}

/// A write transaction.
pub enum Tx {
    Sqlite(crate::group::SqliteWrite),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// A pooled connection for reads.
pub enum Read {
    Sqlite(sqlx::pool::PoolConnection<Sqlite>),
    Postgres(sqlx::pool::PoolConnection<Postgres>),
}

impl Connection for Tx {
    fn raw(&mut self) -> Raw<'_> {
        match self {
            Self::Sqlite(write) => Raw::Sqlite(write.connection()),
            Self::Postgres(tx) => Raw::Postgres(tx),
        }
    }
}

impl Connection for Read {
    fn raw(&mut self) -> Raw<'_> {
        match self {
            Self::Sqlite(c) => Raw::Sqlite(c),
            Self::Postgres(c) => Raw::Postgres(c),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    #[error("the write did not commit: {0}")]
    Commit(String),
    #[error(
        "unsupported database URL '{0}': use sqlite://path/to/file.db or postgres://user@host/database"
    )]
    UnsupportedUrl(String),
}

impl StoreError {
    /// A unique or primary-key constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// A foreign key refused the write: it refers to a row that is gone, or removes
    /// one still referred to.
    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(e)) if e.is_foreign_key_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Ids for an `IN (…)` list: each once, in order.
pub(crate) fn distinct(ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePools),
    Postgres(PgPool),
}

/// SQLite's connections: readers, and the one connection every write goes through.
/// Only that connection writes, so its page cache stays valid from one write to the
/// next (SQLite drops a connection's whole cache when another has written), and the
/// hot pages of the tickets' indexes are not read back for every batch. One more
/// connection copies the log into the database file (see [`crate::checkpoint`]).
#[derive(Clone, Debug)]
pub(crate) struct SqlitePools {
    pub(crate) read: SqlitePool,
    /// Writes, committed together (see [`crate::group`]).
    writers: std::sync::Arc<crate::group::WriteGroup>,
}

#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
    reference: std::sync::Arc<crate::reference::ReferenceCache>,
    shared: std::sync::Arc<Shared>,
    /// PostgreSQL's connection for [`Store::write_for_batches`], opened on first use.
    batch_writer: std::sync::Arc<tokio::sync::OnceCell<PgPool>>,
    pub(crate) credentials: std::sync::Arc<crate::credentials::Credentials>,
}

/// State the users of one store keep together, one value per type (see [`Store::shared`]).
#[derive(Default)]
struct Shared(
    std::sync::Mutex<
        std::collections::HashMap<
            std::any::TypeId,
            std::sync::Arc<dyn std::any::Any + Send + Sync>,
        >,
    >,
);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens the database at `url` (`sqlite://…`, created if missing, or
    /// `postgres://…`), migrates it and seeds the default catalogue into a new one.
    pub async fn open(url: &str) -> Result<Self> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Fixpoint's queries are short. PostgreSQL's JIT compiles any statement its
            // estimate calls expensive (bulk inserts, large IN lists) and spent longer
            // compiling than running them; parallel workers cost more to start than a
            // rare-word search or a queue page takes, and under load they only queue.
            let options = PgConnectOptions::from_str(url)?
                .options([("jit", "off"), ("max_parallel_workers_per_gather", "0")]);
            Pool::Postgres(postgres_pool(16).connect_with(options).await?)
        } else {
            Pool::Sqlite(open_sqlite(url).await?)
        };
        let store = Self {
            pool,
            reference: Default::default(),
            shared: Default::default(),
            batch_writer: Default::default(),
            credentials: Default::default(),
        };
        store.migrate().await?;
        store.analyze().await?;
        Ok(store)
    }

    /// Where PostgreSQL's connections go; `None` on SQLite.
    pub(crate) fn postgres_options(&self) -> Option<std::sync::Arc<PgConnectOptions>> {
        match &self.pool {
            Pool::Sqlite(_) => None,
            Pool::Postgres(p) => Some(p.connect_options()),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p.writers.pool()).await?,
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        let mut tx = self.write().await?;
        crate::catalog::seed_defaults(&mut tx).await?;
        crate::sla::seed_defaults(&mut tx).await?;
        crate::escalation::seed_defaults(&mut tx).await?;
        crate::dialects::seed_defaults(&mut tx).await?;
        Self::commit(tx).await
    }

    /// Refreshes the query planner's statistics (a sampled ANALYZE on SQLite, ~0.15 s
    /// at 1M tickets). Without them SQLite guesses, and picks a narrow index plus table
    /// lookups where a covering index would serve; run at start and periodically.
    pub async fn analyze(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pools) => {
                let mut conn = pools.writers.pool().acquire().await?;
                sqlx::query("PRAGMA analysis_limit = 1000")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("ANALYZE").execute(&mut *conn).await?;
                // FTS5 keeps a segment per burst of inserts and merges them as it goes;
                // a bounded extra merge keeps search lookups to a few segments.
                sqlx::query(
                    "INSERT INTO ticket_search (ticket_search, rank) VALUES ('merge', 500)",
                )
                .execute(&mut *conn)
                .await?;
                drop(conn);
                // A connection reads the statistics when it opens and keeps planning
                // with them; the pool's others would go on without (on a new database,
                // a month's report at 1M tickets took 1.7 s on them, 20 ms on this
                // one). Hold each open connection once and have it reread them; one
                // busy for over a second is left for the next pass.
                let mut held = Vec::new();
                for p in [&pools.read, pools.writers.pool()] {
                    for _ in 0..p.size() {
                        match tokio::time::timeout(std::time::Duration::from_secs(1), p.acquire())
                            .await
                        {
                            Ok(connection) => held.push(connection?),
                            Err(_) => break,
                        }
                    }
                }
                for connection in &mut held {
                    sqlx::query("ANALYZE sqlite_schema")
                        .execute(&mut **connection)
                        .await?;
                }
            }
            Pool::Postgres(p) => {
                maintain(p, "ANALYZE").await?;
            }
        }
        Ok(())
    }

    /// Tidies up after a bulk load: folds the report rollups (one change row per
    /// ticket loaded); SQLite merges the full-text index into one segment (about 3 s at
    /// 1M tickets, holding the write lock); PostgreSQL vacuums, so that counts read the
    /// index alone, and refreshes its statistics.
    pub async fn after_bulk_load(&self) -> Result<()> {
        self.fold_rollups().await?;
        match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query("INSERT INTO ticket_search (ticket_search) VALUES ('optimize')")
                    .execute(p.writers.pool())
                    .await?;
            }
            Pool::Postgres(p) => {
                maintain(p, "VACUUM ANALYZE").await?;
            }
        }
        Ok(())
    }

    /// Folds the report rollups' change rows ([`crate::reports::fold_rollups`]).
    pub async fn fold_rollups(&self) -> Result<u64> {
        let mut tx = self.write().await?;
        let folded = crate::reports::fold_rollups(&mut tx).await?;
        Self::commit(tx).await?;
        Ok(folded)
    }

    /// A consistent copy of a live SQLite database in a new file (`VACUUM INTO`:
    /// readers and writers carry on meanwhile). PostgreSQL has pg_dump for this.
    pub async fn backup_to(&self, path: &Path) -> Result<()> {
        let Pool::Sqlite(SqlitePools { read: pool, .. }) = &self.pool else {
            return Err(StoreError::UnsupportedUrl(
                "backup copies SQLite databases; for PostgreSQL use pg_dump".into(),
            ));
        };
        if path.exists() {
            return Err(StoreError::Database(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists; a backup never overwrites a file",
                    path.display()
                ),
            ))));
        }
        sqlx::query("VACUUM INTO ?")
            .bind(path.to_string_lossy().into_owned())
            .execute(pool)
            .await?;
        Ok(())
    }

    /// The catalogue and SLA set-up as `conn` sees them (inside a write, with its own
    /// edits), from memory unless they changed.
    pub async fn reference(
        &self,
        conn: &mut Conn,
    ) -> Result<std::sync::Arc<crate::reference::Reference>> {
        self.reference.get(conn).await
    }

    /// A connection for reads.
    pub async fn read(&self) -> Result<Read> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Read::Sqlite(p.read.acquire().await?),
            Pool::Postgres(p) => Read::Postgres(p.acquire().await?),
        })
    }

    /// A connection for reads if one is free now, without waiting: for a second read
    /// beside one the caller already holds (waiting for it could wait forever, with
    /// every connection held by callers doing the same).
    pub fn spare_read(&self) -> Option<Read> {
        match &self.pool {
            Pool::Sqlite(p) => p.read.try_acquire().map(Read::Sqlite),
            Pool::Postgres(p) => p.try_acquire().map(Read::Postgres),
        }
    }

    /// A write transaction. On SQLite, concurrent writes share one database
    /// transaction, each in a savepoint of its own, and commit together: one writer at
    /// a time either way, but one commit for a burst instead of one per write
    /// ([`crate::group`]). PostgreSQL writers each get a transaction and meet at row
    /// locks and unique keys. Never hold a `Tx` while asking for another.
    pub async fn write(&self) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.writers.clone().join().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// [`Store::write`] for the one task that writes batches (the create writer),
    /// whose statements read and write rows by key, whatever their values, many rows
    /// at a time.
    ///
    /// On PostgreSQL the transaction runs on a connection of its own, opened on the
    /// runtime of the first call (the writer's thread): each reply then wakes the
    /// writer at once, instead of waiting for the server's runtime, busy with HTTP,
    /// to read the socket and wake it there. Side by side at 1M tickets, +17 to +47%
    /// creates at 64 clients, +22 to +33% at 16 (BENCHMARKS, "The create writer's own
    /// connection").
    ///
    /// And PostgreSQL plans each statement once per connection instead of at every
    /// call: a batch of ~32 creates binds ~1,500 parameters, and planning its ticket
    /// insert and its other writes at each bind took 0.73 ms of a batch's ~8 (0.36 ms
    /// with the plans reused; BENCHMARKS, "Plans reused"). A statement whose best plan
    /// depends on its values (a filter on a skewed column) does not belong here.
    /// SQLite plans nothing at bind, and its writes all go through one connection.
    pub async fn write_for_batches(&self) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(_) => self.write().await?,
            Pool::Postgres(p) => {
                let own = self
                    .batch_writer
                    .get_or_try_init(|| {
                        postgres_pool(1).connect_with((*p.connect_options()).clone())
                    })
                    .await?;
                Tx::Postgres(own.begin_with(GENERIC_PLANS).await?)
            }
        })
    }

    /// The one `T` that every clone of this store shares, made on first use: state a
    /// layer above keeps per database, such as creates waiting to be written together.
    pub fn shared<T: Default + Send + Sync + 'static>(&self) -> std::sync::Arc<T> {
        let mut values = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        let value = values
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| std::sync::Arc::new(T::default()))
            .clone();
        drop(values);
        value
            .downcast::<T>()
            .expect("the value under a type's id is of that type")
    }

    /// Commits a transaction from [`Store::write`]; returns once it is durable.
    pub async fn commit(tx: Tx) -> Result<()> {
        match tx {
            Tx::Sqlite(write) => write.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query("SELECT 1").execute(&p.read).await?;
            }
            Pool::Postgres(p) => {
                sqlx::query("SELECT 1").execute(p).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => {
                p.read.close().await;
                p.writers.close().await;
            }
            Pool::Postgres(p) => {
                if let Some(own) = self.batch_writer.get() {
                    own.close().await;
                }
                p.close().await
            }
        }
    }
}

async fn open_sqlite(url: &str) -> Result<SqlitePools> {
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    };
    let path = path.split('?').next().unwrap_or(path);
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    }
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    // An embedded database has no connection to lose: sqlx's ping before each acquire
    // would only add a round trip to the connection's thread.
    let pool = || SqlitePoolOptions::new().test_before_acquire(false);
    let one_connection = || pool().max_connections(1);
    let write = one_connection()
        .connect_with(options.clone().pragma(
            "wal_autocheckpoint",
            crate::checkpoint::WRITER_CHECKPOINT_PAGES.to_string(),
        ))
        .await?;
    let checkpoints = one_connection().connect_with(options.clone()).await?;
    let read = pool().max_connections(8).connect_with(options).await?;
    let checkpointer = crate::checkpoint::Checkpointer::start(checkpoints);
    Ok(SqlitePools {
        read,
        writers: std::sync::Arc::new(crate::group::WriteGroup::new(write, checkpointer)),
    })
}

/// Runs a maintenance statement that takes seconds by design on a large database
/// (ANALYZE: ~2 s at 1M tickets) on a connection of its own, which sqlx would
/// otherwise log as a slow statement at every start; its errors still return.
async fn maintain(pool: &PgPool, sql: &'static str) -> Result<()> {
    use sqlx::ConnectOptions;
    let mut conn = pool
        .connect_options()
        .as_ref()
        .clone()
        .disable_statement_logging()
        .connect()
        .await?;
    sqlx::query(sql).execute(&mut conn).await?;
    sqlx::Connection::close(conn).await?;
    Ok(())
}

/// A connection idle longer than this is pinged before it is handed out again.
pub const POSTGRES_IDLE_BEFORE_PING: std::time::Duration = std::time::Duration::from_secs(1);

/// Pool options for PostgreSQL. sqlx pings every connection when it is handed out
/// and again when it comes back: two round trips besides each request's own query,
/// for a key lookup that is one (side by side at 1M tickets, 64 clients, the cheapest
/// authenticated request: 9,624 / 11,574 / 9,116 → 12,285 / 12,231 / 11,738 req/s).
/// The ping on return stays (sqlx's, not optional): a connection broken during its
/// use never goes back. Only one that sat idle long enough for its server to go away
/// unseen (a restart, a dropped socket) is pinged before use, and replaced if dead.
fn postgres_pool(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= POSTGRES_IDLE_BEFORE_PING {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// The PostgreSQL server the tests also run against: `FIXPOINT_TEST_POSTGRES_URL`, an
/// admin URL (a role that may create databases), when it is set and not empty.
pub fn test_postgres_admin() -> Option<String> {
    std::env::var("FIXPOINT_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// [`test_postgres_admin`] for a test that needs PostgreSQL: without it the test
/// fails rather than skips.
pub fn required_test_postgres_admin() -> String {
    test_postgres_admin()
        .expect("set FIXPOINT_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres")
}

/// A database of its own for one test on the PostgreSQL server `admin`, dropped with
/// this value (when the test fails too).
pub struct TestPostgresDatabase {
    admin: String,
    pub name: String,
    pub url: String,
}

impl TestPostgresDatabase {
    pub async fn create(admin: &str) -> Self {
        let name = format!("fixpoint_test_{:016x}", rand::random::<u64>());
        let url = create_postgres_database(admin, &name)
            .await
            .expect("create a test database on FIXPOINT_TEST_POSTGRES_URL");
        Self {
            admin: admin.to_owned(),
            name,
            url,
        }
    }
}

impl Drop for TestPostgresDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs outside async; a small runtime of its own drops the database.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let _ = drop_postgres_database(&admin, &name).await;
            });
        })
        .join();
    }
}

/// Creates database `name` on the PostgreSQL server `admin` connects to (a role that
/// may create databases) and returns its URL: for tests and benchmark datasets.
pub async fn create_postgres_database(admin: &str, name: &str) -> Result<String> {
    create_postgres_database_from(admin, name, None).await
}

/// The same, as a copy of database `template` (which nobody may be connected to).
pub async fn create_postgres_database_from(
    admin: &str,
    name: &str,
    template: Option<&str>,
) -> Result<String> {
    use sqlx::Connection;
    let mut conn = PgConnection::connect(admin).await?;
    let sql = match template {
        Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
        None => format!("CREATE DATABASE {name}"),
    };
    sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await?;
    let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

pub async fn drop_postgres_database(admin: &str, name: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = PgConnection::connect(admin).await?;
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await?;
    Ok(())
}

/// Rows decodable from both backends (sqlx's `FromRow` derive is generic over the row).
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin> Row for T {}

pub(crate) fn render<S: SqlxBinder>(
    stmt: &S,
    postgres: bool,
) -> (AssertSqlSafe<String>, SqlxValues) {
    let (sql, values) = if postgres {
        stmt.build_sqlx(PostgresQueryBuilder)
    } else {
        stmt.build_sqlx(SqliteQueryBuilder)
    };
    (AssertSqlSafe(sql), values)
}

pub(crate) async fn fetch_all<T: Row>(conn: &mut Conn, stmt: &impl SqlxBinder) -> Result<Vec<T>> {
    Ok(match conn.raw() {
        Raw::Sqlite(c) => {
            let (sql, values) = render(stmt, false);
            sqlx::query_as_with(sql, values).fetch_all(c).await?
        }
        Raw::Postgres(c) => {
            let (sql, values) = render(stmt, true);
            sqlx::query_as_with(sql, values).fetch_all(c).await?
        }
    })
}

/// Begin PostgreSQL transactions whose parametrised statements take the plan made
/// without their values, once per connection.
const GENERIC_PLANS: &str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan";
const READ_ONLY_GENERIC_PLANS: &str =
    "BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan";

/// [`fetch_all`] for a statement whose plan is the same whatever its values: PostgreSQL
/// plans it once per connection instead of at every call. Left to itself it plans a
/// parametrised statement anew each time while it judges the generic plan costlier,
/// which for the queue page (a merge of the statuses' index ranges, whichever queue and
/// statuses) took 0.7–1.0 ms of the query's 1.0–1.3. Inside a caller's transaction the
/// statement is planned as usual.
pub(crate) async fn fetch_all_same_plan<T: Row>(
    conn: &mut Conn,
    stmt: &impl SqlxBinder,
) -> Result<Vec<T>> {
    match conn.raw() {
        Raw::Postgres(c) if !sqlx::Connection::is_in_transaction(c) => {
            let (sql, values) = render(stmt, true);
            let mut tx = sqlx::Connection::begin_with(c, READ_ONLY_GENERIC_PLANS).await?;
            let rows = sqlx::query_as_with(sql, values).fetch_all(&mut *tx).await?;
            // A read-only transaction has nothing to commit: dropped, it queues its
            // ROLLBACK to go out with the connection's next message (the next query,
            // or the pool's check when the connection goes back) instead of waiting
            // for a round trip of its own.
            drop(tx);
            Ok(rows)
        }
        _ => fetch_all(conn, stmt).await,
    }
}

/// A fixed statement with no parameters, for SQL that differs per backend.
pub(crate) async fn fetch_all_sql<T: Row>(conn: &mut Conn, sql: &'static str) -> Result<Vec<T>> {
    Ok(match conn.raw() {
        Raw::Sqlite(c) => sqlx::query_as(sql).fetch_all(c).await?,
        Raw::Postgres(c) => sqlx::query_as(sql).fetch_all(c).await?,
    })
}

pub(crate) async fn fetch_optional<T: Row>(
    conn: &mut Conn,
    stmt: &impl SqlxBinder,
) -> Result<Option<T>> {
    Ok(match conn.raw() {
        Raw::Sqlite(c) => {
            let (sql, values) = render(stmt, false);
            sqlx::query_as_with(sql, values).fetch_optional(c).await?
        }
        Raw::Postgres(c) => {
            let (sql, values) = render(stmt, true);
            sqlx::query_as_with(sql, values).fetch_optional(c).await?
        }
    })
}

pub(crate) async fn fetch_scalar(conn: &mut Conn, stmt: &impl SqlxBinder) -> Result<i64> {
    Ok(match conn.raw() {
        Raw::Sqlite(c) => {
            let (sql, values) = render(stmt, false);
            sqlx::query_scalar_with(sql, values).fetch_one(c).await?
        }
        Raw::Postgres(c) => {
            let (sql, values) = render(stmt, true);
            sqlx::query_scalar_with(sql, values).fetch_one(c).await?
        }
    })
}

/// Runs SQL the store wrote itself, for the few statements sea-query cannot express
/// (a PostgreSQL `DELETE … RETURNING` inside a `WITH`). Never with outside input.
pub(crate) async fn execute_sql(conn: &mut Conn, sql: String) -> Result<u64> {
    Ok(match conn.raw() {
        Raw::Sqlite(c) => sqlx::query(AssertSqlSafe(sql))
            .execute(c)
            .await?
            .rows_affected(),
        Raw::Postgres(c) => sqlx::query(AssertSqlSafe(sql))
            .execute(c)
            .await?
            .rows_affected(),
    })
}

/// Runs a write and returns how many rows it touched.
pub(crate) async fn execute(conn: &mut Conn, stmt: &impl SqlxBinder) -> Result<u64> {
    Ok(match conn.raw() {
        Raw::Sqlite(c) => {
            let (sql, values) = render(stmt, false);
            sqlx::query_with(sql, values)
                .execute(c)
                .await?
                .rows_affected()
        }
        Raw::Postgres(c) => {
            let (sql, values) = render(stmt, true);
            sqlx::query_with(sql, values)
                .execute(c)
                .await?
                .rows_affected()
        }
    })
}

/// Writes nothing waits on (no id or row count is read back), sent together once the
/// caller has gathered them: SQLite runs them in one call (each call is a hand-off to
/// its connection's thread and back, which under load costs more than a small write),
/// PostgreSQL in as few statements as they fit in (`PostgresStatement`). They run in
/// the caller's transaction, the writes to one table in the order added. On PostgreSQL
/// those sent as one statement share its snapshot, so none may depend on what another
/// writes (an `INSERT … SELECT` over rows an earlier write adds or changes would not see
/// them); what earlier statements of the transaction wrote, all see.
#[derive(Default)]
pub struct Writes(Vec<Write>);

/// One statement of [`Writes`].
pub enum Write {
    Insert(InsertStatement),
    Update(UpdateStatement),
    Delete(DeleteStatement),
}

impl From<InsertStatement> for Write {
    fn from(stmt: InsertStatement) -> Self {
        Self::Insert(stmt)
    }
}

impl From<UpdateStatement> for Write {
    fn from(stmt: UpdateStatement) -> Self {
        Self::Update(stmt)
    }
}

impl From<DeleteStatement> for Write {
    fn from(stmt: DeleteStatement) -> Self {
        Self::Delete(stmt)
    }
}

impl Write {
    fn build_collect_into<T: QueryBuilder>(&self, builder: T, sql: &mut impl sea_query::SqlWriter) {
        match self {
            Self::Insert(stmt) => stmt.build_collect_into(builder, sql),
            Self::Update(stmt) => stmt.build_collect_into(builder, sql),
            Self::Delete(stmt) => stmt.build_collect_into(builder, sql),
        }
    }

    fn build<T: QueryBuilder>(&self, builder: T) -> (String, sea_query::Values) {
        match self {
            Self::Insert(stmt) => stmt.build(builder),
            Self::Update(stmt) => stmt.build(builder),
            Self::Delete(stmt) => stmt.build(builder),
        }
    }
}

impl Writes {
    pub fn push(&mut self, stmt: impl Into<Write>) {
        self.0.push(stmt.into());
    }

    pub async fn run(self, conn: &mut Conn) -> Result<()> {
        match conn.raw() {
            Raw::Sqlite(c) => {
                if self.0.is_empty() {
                    return Ok(());
                }
                // sqlx binds a script's `?` parameters in order across its statements.
                let mut sql = String::new();
                let mut values = Vec::new();
                for stmt in &self.0 {
                    let (text, bound) = stmt.build(SqliteQueryBuilder);
                    sql.push_str(&text);
                    sql.push_str(";\n");
                    values.extend(bound.0);
                }
                sqlx::query_with(AssertSqlSafe(sql), SqlxValues(sea_query::Values(values)))
                    .execute(c)
                    .await?;
            }
            Raw::Postgres(c) => {
                for statement in postgres_statements(&self.0) {
                    let (sql, values) = statement.into_parts();
                    sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values))
                        .execute(&mut *c)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// PostgreSQL numbers a statement's parameters with 16 bits.
const POSTGRES_PARAMETERS_MAX: usize = u16::MAX as usize;

/// Writes as few PostgreSQL statements as they fit in, in order, each write rendered
/// once (it is rendered again only where a statement ends on it).
fn postgres_statements(writes: &[Write]) -> Vec<PostgresStatement> {
    let mut statements = Vec::new();
    let mut current = PostgresStatement::default();
    for write in writes {
        if !current.add(write) {
            statements.push(std::mem::take(&mut current));
            // An empty statement takes any write.
            current.add(write);
        }
    }
    if !current.writes.is_empty() {
        statements.push(current);
    }
    statements
}

/// Writes sent as one PostgreSQL statement, each before the last a data-modifying
/// `WITH` item: one round trip instead of one each. They share a snapshot, so none may
/// depend on what another writes (the rows of earlier statements, a create's tickets,
/// they see). Its parts run in no set order, so it holds at most one write to each table
/// (ids must follow the inserts' order, and a row may change once in a statement), and
/// no more parameters than one statement binds.
#[derive(Default)]
struct PostgresStatement {
    /// Each write's SQL, its parameters numbered on from the write before it.
    writes: Vec<String>,
    /// The table of each write.
    tables: Vec<String>,
    values: Vec<sea_query::Value>,
}

impl PostgresStatement {
    /// Adds `write` if it fits; false (and nothing added) if it does not.
    fn add(&mut self, write: &Write) -> bool {
        let mark = self.values.len();
        let mut sql = NumberedOn {
            sql: String::new(),
            values: &mut self.values,
        };
        write.build_collect_into(PostgresQueryBuilder, &mut sql);
        let sql = sql.sql;
        let table = table_written(&sql).to_owned();
        let fits = self.writes.is_empty()
            || (self.values.len() <= POSTGRES_PARAMETERS_MAX && !self.tables.contains(&table));
        if fits {
            self.writes.push(sql);
            self.tables.push(table);
        } else {
            self.values.truncate(mark);
        }
        fits
    }

    fn into_parts(self) -> (String, sea_query::Values) {
        use std::fmt::Write;
        let mut sql = String::new();
        if let Some((last, first)) = self.writes.split_last() {
            for (i, write) in first.iter().enumerate() {
                let lead = if i == 0 { "WITH" } else { "," };
                let _ = write!(sql, "{lead} w{i} AS ({write})");
            }
            if !first.is_empty() {
                sql.push(' ');
            }
            sql.push_str(last);
        }
        (sql, sea_query::Values(self.values))
    }
}

/// The table a rendered write changes: its first quoted name (`INSERT INTO "t" (…`,
/// `UPDATE "t" SET …`, `DELETE FROM "t" …`).
fn table_written(sql: &str) -> &str {
    sql.split('"').nth(1).unwrap_or(sql)
}

/// Renders one write with its parameters numbered on from those already bound.
struct NumberedOn<'a> {
    sql: String,
    values: &'a mut Vec<sea_query::Value>,
}

impl std::fmt::Write for NumberedOn<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.sql.write_str(s)
    }
}

impl std::fmt::Display for NumberedOn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sql)
    }
}

impl sea_query::SqlWriter for NumberedOn<'_> {
    fn push_param<T: sea_query::QueryBuilder>(&mut self, value: sea_query::Value, _: &T) {
        use std::fmt::Write;
        self.values.push(value);
        // Writing to a String cannot fail.
        let _ = write!(self.sql, "${}", self.values.len());
    }

    fn as_writer(&mut self) -> &mut dyn std::fmt::Write {
        self
    }
}

/// After rows were seeded with explicit ids, PostgreSQL's identity must move past them.
pub(crate) async fn sync_identity(conn: &mut Conn, table: &'static str) -> Result<()> {
    if let Raw::Postgres(c) = conn.raw() {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
        );
        sqlx::query(AssertSqlSafe(sql)).execute(c).await?;
    }
    Ok(())
}

/// Inserts one row and returns its new `id`.
pub(crate) async fn insert_id(conn: &mut Conn, mut stmt: InsertStatement) -> Result<i64> {
    stmt.returning_col("id");
    fetch_scalar(conn, &stmt).await
}

/// Instants are stored as microseconds since the epoch on every backend.
pub(crate) fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub(crate) fn instant(micros: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(micros)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {micros}: {e}")))
}

pub(crate) fn opt_instant(micros: Option<i64>) -> Result<Option<Timestamp>> {
    micros.map(instant).transpose()
}

/// Enums are stored as their snake_case serde names, the same text the API shows.
pub(crate) fn enum_text<T: Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => unreachable!("enum did not serialise to a string: {other:?}"),
    }
}

pub(crate) fn parse_enum<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| StoreError::Corrupt(format!("unknown enum value '{text}'")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::Query;

    fn insert(table: &'static str, rows: usize, columns: usize) -> InsertStatement {
        let names: Vec<String> = (0..columns).map(|c| format!("c{c}")).collect();
        let mut q = Query::insert();
        q.into_table(table).columns(names);
        for row in 0..rows {
            q.values_panic((0..columns).map(|c| ((row * columns + c) as i64).into()));
        }
        q
    }

    fn sizes(writes: &Writes) -> Vec<usize> {
        postgres_statements(&writes.0)
            .iter()
            .map(|s| s.writes.len())
            .collect()
    }

    #[test]
    fn the_bundled_sqlite_is_built_as_configured() {
        // `.cargo/config.toml` sets these through LIBSQLITE3_FLAGS (see there for why);
        // a build that misses them still works, only slower.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let options: Vec<String> = runtime
            .block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
                sqlx::query_scalar("PRAGMA compile_options")
                    .fetch_all(&mut conn)
                    .await
            })
            .expect("SQLite's compile options");
        for option in ["DEFAULT_MEMSTATUS=0", "ENABLE_QPSG"] {
            assert!(
                options.iter().any(|o| o == option),
                "{option} is not among {options:?}"
            );
        }
    }

    #[test]
    fn a_savepoint_larger_than_any_in_memory_journal_commits() {
        // A savepoint keeps a copy of each page it changes, in memory and then in a
        // file; the move to the file failed ("database or disk is full") when SQLite
        // was built to hold more than the unix VFS writes in one call (128 KiB).
        let dir = tempfile::tempdir().expect("a directory");
        let url = format!("sqlite://{}", dir.path().join("large.db").display());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let rows: i64 = runtime
            .block_on(async {
                use sqlx::{ConnectOptions, Executor};
                let mut conn = url
                    .parse::<sqlx::sqlite::SqliteConnectOptions>()?
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .connect()
                    .await?;
                // 3,000 rows of 3 KB: 9 MB of pages, each copied once by the savepoint.
                conn.execute(
                    "CREATE TABLE pages (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
                     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
                     INSERT INTO pages (id, body) SELECT i, randomblob(3000) FROM n;
                     BEGIN;
                     SAVEPOINT batch;
                     UPDATE pages SET body = randomblob(3000);
                     RELEASE batch;
                     COMMIT;",
                )
                .await?;
                sqlx::query_scalar("SELECT COUNT(*) FROM pages")
                    .fetch_one(&mut conn)
                    .await
            })
            .expect("the large savepoint commits");
        assert_eq!(rows, 3000);
    }

    #[test]
    fn postgres_statements_hold_one_insert_per_table() {
        let mut writes = Writes::default();
        for table in [
            "history", "outbox", "search", "history", "outbox", "history",
        ] {
            writes.push(insert(table, 2, 3));
        }
        assert_eq!(sizes(&writes), [3, 2, 1]);
    }

    #[test]
    fn postgres_statements_stay_within_their_parameters() {
        let mut writes = Writes::default();
        // 40,000 parameters each: two cannot share a statement; a small third can.
        writes.push(insert("history", 5_000, 8));
        writes.push(insert("outbox", 5_000, 8));
        writes.push(insert("search", 10, 8));
        assert_eq!(sizes(&writes), [1, 2]);
        let together = postgres_statements(&writes.0).remove(1).into_parts();
        assert_eq!(together.1.0.len(), 40_080);
        assert!(together.0.starts_with("WITH w0 AS (INSERT INTO \"outbox\""));
        assert!(together.0.contains(") INSERT INTO \"search\""));
        assert!(together.0.ends_with(&format!("${}, ${})", 40_079, 40_080)));
    }

    #[test]
    fn postgres_statements_hold_one_write_per_table_of_any_kind() {
        use sea_query::{Expr, ExprTrait};
        let mut writes = Writes::default();
        writes.push(insert("history", 1, 2));
        writes.push(
            Query::update()
                .table("tickets")
                .value("last_activity_at", 1)
                .and_where(Expr::col("id").eq(7))
                .to_owned(),
        );
        writes.push(
            Query::delete()
                .from_table("search")
                .and_where(Expr::col("rowid").eq(7))
                .to_owned(),
        );
        writes.push(
            Query::update()
                .table("tickets")
                .value("version", 2)
                .to_owned(),
        );
        assert_eq!(sizes(&writes), [3, 1]);
        let (sql, values) = postgres_statements(&writes.0).remove(0).into_parts();
        assert_eq!(
            sql,
            "WITH w0 AS (INSERT INTO \"history\" (\"c0\", \"c1\") VALUES ($1, $2)), \
             w1 AS (UPDATE \"tickets\" SET \"last_activity_at\" = $3 WHERE \"id\" = $4) \
             DELETE FROM \"search\" WHERE \"rowid\" = $5"
        );
        assert_eq!(values.0.len(), 5);
    }

    #[test]
    fn nothing_to_write_is_no_statement() {
        assert!(postgres_statements(&Writes::default().0).is_empty());
    }
}
