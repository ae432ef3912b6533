//! What the vendor dialects need stored: how each names Fixpoint's statuses.

use fixpoint_core::catalog::{StatusCategory, seeded};
use fixpoint_core::ids::StatusId;
use sea_query::{Expr, ExprTrait, Query};
use sqlx::FromRow;

use crate::db::{Conn, Result, execute, fetch_all};

/// One status as a dialect names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorStatus {
    pub status_id: StatusId,
    pub vendor_name: String,
    /// Writing `vendor_name` moves a ticket to this status.
    pub write_target: bool,
}

#[derive(FromRow)]
struct Row {
    status_id: i64,
    vendor_name: String,
    write_target: bool,
}

pub async fn statuses(conn: &mut Conn, dialect: &str) -> Result<Vec<VendorStatus>> {
    let rows: Vec<Row> = fetch_all(
        conn,
        Query::select()
            .columns(["status_id", "vendor_name", "write_target"])
            .from("dialect_statuses")
            .and_where(Expr::col("dialect").eq(dialect))
            .order_by("status_id", sea_query::Order::Asc),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| VendorStatus {
            status_id: StatusId(r.status_id),
            vendor_name: r.vendor_name,
            write_target: r.write_target,
        })
        .collect())
}

/// Atera's four statuses for each category, and which status writing each one picks
/// when the default catalogue is there: Open reopens to In Progress, Pending waits on
/// the customer.
fn atera_name(category: StatusCategory) -> &'static str {
    match category {
        StatusCategory::New | StatusCategory::InProgress | StatusCategory::Escalated => "Open",
        StatusCategory::Waiting => "Pending",
        StatusCategory::Resolved => "Resolved",
        StatusCategory::Closed => "Closed",
    }
}

/// Names every status for each dialect that has no mapping yet (a new database, or a
/// dialect added since). Each vendor name gets one write target: the preferred seeded
/// status when present, else the first status that reads as that name.
pub async fn seed_defaults(conn: &mut Conn) -> Result<()> {
    if !statuses(conn, "atera").await?.is_empty() {
        return Ok(());
    }
    let preferred = [seeded::IN_PROGRESS, seeded::WAITING_CUSTOMER];
    let all = crate::catalog::statuses(conn).await?;
    let mut rows: Vec<VendorStatus> = all
        .iter()
        .map(|s| VendorStatus {
            status_id: s.id,
            vendor_name: atera_name(s.category).to_owned(),
            write_target: false,
        })
        .collect();
    for name in ["Open", "Pending", "Resolved", "Closed"] {
        let named = |r: &&mut VendorStatus| r.vendor_name == name;
        let has_preferred = rows
            .iter()
            .any(|r| r.vendor_name == name && preferred.contains(&r.status_id));
        if let Some(target) = rows
            .iter_mut()
            .filter(named)
            .find(|r| !has_preferred || preferred.contains(&r.status_id))
        {
            target.write_target = true;
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert.into_table("dialect_statuses").columns([
        "dialect",
        "status_id",
        "vendor_name",
        "write_target",
    ]);
    for r in &rows {
        insert.values_panic([
            "atera".into(),
            r.status_id.0.into(),
            r.vendor_name.clone().into(),
            r.write_target.into(),
        ]);
    }
    execute(conn, &insert).await?;
    Ok(())
}
