//! Moving a whole installation from SQLite to PostgreSQL (`fixpoint migrate-data`).
//! Generic over the schema: columns come from the source's own description, values
//! are converted by the target column's type, and everything lands in one target
//! transaction, so a failed move leaves the target as it was.

use sea_query::{Expr, ExprTrait, PostgresQueryBuilder, Query, Value};
use sea_query_sqlx::SqlxBinder;
use sqlx::{AssertSqlSafe, Row as _};

use crate::db::{Pool, Result, Store, StoreError};

/// Every table, parents before children.
pub const TABLES: &[&str] = &[
    "settings",
    "statuses",
    "status_transitions",
    "priorities",
    "ticket_types",
    "issue_types",
    "companies",
    "company_locations",
    "contacts",
    "resources",
    "roles",
    "calendars",
    "sla_policies",
    "sla_targets",
    "queues",
    "queue_members",
    "contracts",
    "ticket_categories",
    "ticket_number_sequences",
    "api_keys",
    "access_tokens",
    "web_sessions",
    "tickets",
    "ticket_secondary_resources",
    "notes",
    "time_entries",
    "attachments",
    "ticket_history",
    "idempotency_keys",
    "escalation_rules",
    "escalations",
    "outbox",
    "webhooks",
    "webhook_deliveries",
    "mail_messages",
    "inbound_messages",
    "mail_templates",
    "sla_alerts",
    "dialect_statuses",
    "dialect_codes",
];

/// Tables the target derives itself: its triggers fill the report rollups and the
/// queue counts as the tickets and time entries land (copying them too would count
/// everything twice).
pub const DERIVED: &[&str] = &["ticket_rollup", "time_rollup", "ticket_queue_counts"];

/// Columns that point at their own table: copied empty, then filled in.
const SELF_REFERENCES: &[(&str, &str)] = &[
    ("companies", "parent_company_id"),
    ("issue_types", "parent_id"),
    ("tickets", "problem_ticket_id"),
];

const BATCH: i64 = 500;

/// Copies every table of `from` (SQLite) into `to` (PostgreSQL), replacing the
/// target's seeded catalogue, and returns the row count of each table, verified on
/// both sides. `progress(table, copied, total)` is called after each batch.
pub async fn copy_installation(
    from: &Store,
    to: &Store,
    mut progress: impl FnMut(&str, i64, i64),
) -> Result<Vec<(&'static str, i64)>> {
    let (Pool::Sqlite(crate::db::SqlitePools { read: source, .. }), Pool::Postgres(target)) =
        (&from.pool, &to.pool)
    else {
        return Err(StoreError::UnsupportedUrl(
            "migrate-data moves a SQLite installation to PostgreSQL".into(),
        ));
    };
    let mut tx = target.begin().await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 {
        return Err(StoreError::Corrupt(format!(
            "the target already holds {existing} tickets; migrate-data moves into an empty database"
        )));
    }
    for table in TABLES.iter().rev() {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await?;
    }
    let mut counts = Vec::new();
    for &table in TABLES {
        let columns: Vec<(String, String)> =
            sqlx::query(AssertSqlSafe(format!("PRAGMA table_info({table})")))
                .fetch_all(source)
                .await?
                .iter()
                .map(|r| {
                    (
                        r.get::<String, _>("name"),
                        r.get::<String, _>("type").to_uppercase(),
                    )
                })
                .collect();
        let target_types: Vec<(String, String)> = sqlx::query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_name = $1",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect();
        let target_type = |column: &str| {
            target_types
                .iter()
                .find(|(c, _)| c == column)
                .map(|(_, t)| t.as_str())
                .unwrap_or("text")
                .to_owned()
        };
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(source)
            .await?;
        let deferred: Vec<&str> = SELF_REFERENCES
            .iter()
            .filter(|(t, _)| *t == table)
            .map(|(_, c)| *c)
            .collect();
        let mut later: Vec<(i64, String, Option<i64>)> = Vec::new();
        // Files are up to ATTACHMENT_BYTES_MAX each: a few per statement bound the memory.
        let batch = if columns
            .iter()
            .any(|(_, declared)| declared.contains("BLOB"))
        {
            4
        } else {
            BATCH
        };
        let mut last_rowid = i64::MIN;
        let mut copied = 0;
        loop {
            let select = format!(
                "SELECT rowid AS fixpoint_rowid, * FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT {batch}"
            );
            let rows = sqlx::query(AssertSqlSafe(select))
                .bind(last_rowid)
                .fetch_all(source)
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut insert = Query::insert();
            insert.into_table(table).columns(
                columns
                    .iter()
                    .map(|(c, _)| sea_query::Alias::new(c.clone())),
            );
            for row in &rows {
                last_rowid = row.get::<i64, _>("fixpoint_rowid");
                let mut values: Vec<Expr> = Vec::with_capacity(columns.len());
                for (name, declared) in &columns {
                    let value = if declared.contains("INT") {
                        let v: Option<i64> = row.try_get(name.as_str())?;
                        if deferred.contains(&name.as_str()) {
                            if v.is_some() {
                                later.push((row.try_get::<i64, _>("id")?, name.clone(), v));
                            }
                            Value::BigInt(None)
                        } else {
                            match target_type(name).as_str() {
                                "boolean" => Value::Bool(v.map(|n| n != 0)),
                                "integer" => Value::Int(v.map(|n| n as i32)),
                                _ => Value::BigInt(v),
                            }
                        }
                    } else if declared.contains("BLOB") {
                        Value::Bytes(row.try_get::<Option<Vec<u8>>, _>(name.as_str())?)
                    } else {
                        Value::String(row.try_get::<Option<String>, _>(name.as_str())?)
                    };
                    values.push(value.into());
                }
                insert.values_panic(values);
            }
            let (sql, values) = insert.build_sqlx(PostgresQueryBuilder);
            sqlx::query_with(AssertSqlSafe(sql), values)
                .execute(&mut *tx)
                .await?;
            copied += rows.len() as i64;
            progress(table, copied, total);
        }
        for (id, column, value) in later {
            let (sql, values) = Query::update()
                .table(table)
                .value(sea_query::Alias::new(column), value)
                .and_where(Expr::col("id").eq(id))
                .build_sqlx(PostgresQueryBuilder);
            sqlx::query_with(AssertSqlSafe(sql), values)
                .execute(&mut *tx)
                .await?;
        }
        let landed: i64 =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *tx)
                .await?;
        if landed != total {
            return Err(StoreError::Corrupt(format!(
                "{table}: {total} rows in the source but {landed} in the target"
            )));
        }
        if target_types.iter().any(|(c, _)| c == "id") {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            );
            sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
        }
        counts.push((table, total));
    }
    let mut tx = crate::db::Tx::Postgres(tx);
    crate::search::rebuild_all(&mut tx).await?;
    crate::reports::fold_rollups(&mut tx).await?;
    Store::commit(tx).await?;
    Ok(counts)
}
