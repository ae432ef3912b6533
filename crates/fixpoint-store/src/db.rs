//! The database handle, transactions, and the one place where sea-query statements
//! become SQL for the backend.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sea_query::{InsertStatement, SqliteQueryBuilder};
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, SqlitePool};

/// A connection to run store functions on: a pooled one for reads, a transaction's
/// for writes (`&mut *tx`).
pub type Conn = sqlx::SqliteConnection;
pub type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    #[error("unsupported database URL '{0}': use sqlite://path/to/file.db")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// A unique or primary-key constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Store {
    /// Opens (creating if needed) the database at `url`, migrates it and seeds the
    /// default catalogue into a new one.
    pub async fn open(url: &str) -> Result<Self> {
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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        let store = Self { pool };
        store.migrate().await?;
        store.analyze().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<()> {
        SQLITE_MIGRATIONS.run(&self.pool).await?;
        let mut tx = self.write().await?;
        crate::catalog::seed_defaults(&mut tx).await?;
        crate::sla::seed_defaults(&mut tx).await?;
        crate::escalation::seed_defaults(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refreshes the query planner's statistics (a sampled ANALYZE, ~0.15 s at 1M
    /// tickets). Without them SQLite guesses, and picks a narrow index plus table
    /// lookups where a covering index would serve; run at start and periodically.
    pub async fn analyze(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("PRAGMA analysis_limit = 1000")
            .execute(&mut *conn)
            .await?;
        sqlx::query("ANALYZE").execute(&mut *conn).await?;
        Ok(())
    }

    /// A connection for reads.
    pub async fn read(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>> {
        Ok(self.pool.acquire().await?)
    }

    /// A write transaction. SQLite takes the write lock up front (`BEGIN IMMEDIATE`)
    /// so two writers queue on the busy timeout instead of failing mid-transaction.
    pub async fn write(&self) -> Result<Tx> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Commits a transaction from [`Store::write`].
    pub async fn commit(tx: Tx) -> Result<()> {
        Ok(tx.commit().await?)
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn render<S: SqlxBinder>(stmt: &S) -> (AssertSqlSafe<String>, SqlxValues) {
    let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
    (AssertSqlSafe(sql), values)
}

pub(crate) async fn fetch_all<T>(conn: &mut Conn, stmt: &impl SqlxBinder) -> Result<Vec<T>>
where
    T: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    let (sql, values) = render(stmt);
    Ok(sqlx::query_as_with(sql, values).fetch_all(conn).await?)
}

pub(crate) async fn fetch_optional<T>(conn: &mut Conn, stmt: &impl SqlxBinder) -> Result<Option<T>>
where
    T: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    let (sql, values) = render(stmt);
    Ok(sqlx::query_as_with(sql, values)
        .fetch_optional(conn)
        .await?)
}

pub(crate) async fn fetch_scalar(conn: &mut Conn, stmt: &impl SqlxBinder) -> Result<i64> {
    let (sql, values) = render(stmt);
    Ok(sqlx::query_scalar_with(sql, values).fetch_one(conn).await?)
}

/// Runs a write and returns how many rows it touched.
pub(crate) async fn execute(conn: &mut Conn, stmt: &impl SqlxBinder) -> Result<u64> {
    let (sql, values) = render(stmt);
    Ok(sqlx::query_with(sql, values)
        .execute(conn)
        .await?
        .rows_affected())
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
