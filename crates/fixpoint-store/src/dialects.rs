//! What the vendor dialects need stored: how each names Fixpoint's statuses (Atera)
//! and numbers its catalogue values (Autotask).

use fixpoint_core::catalog::{CodeLine, StatusCategory, seeded};
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
    seed_autotask_codes(conn).await?;
    seed_halopsa_codes(conn).await?;
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

/// The dialects that number Fixpoint's catalogue values.
pub const NUMBERING_DIALECTS: [&str; 2] = ["autotask", "halopsa"];

/// Which catalogue a dialect code numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeKind {
    Status,
    Priority,
    TicketType,
}

impl CodeKind {
    pub const ALL: [CodeKind; 3] = [Self::Status, Self::Priority, Self::TicketType];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Priority => "priority",
            Self::TicketType => "ticket_type",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The ids of the catalogue this kind numbers.
    pub fn values(self, catalog: &fixpoint_core::catalog::Catalog) -> Vec<i64> {
        match self {
            Self::Status => catalog.statuses.iter().map(|s| s.id.0).collect(),
            Self::Priority => catalog.priorities.iter().map(|p| p.id.0).collect(),
            Self::TicketType => catalog.ticket_types.iter().map(|t| t.id.0).collect(),
        }
    }
}

/// One catalogue value as a dialect numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialectCode {
    pub kind: CodeKind,
    pub code: i64,
    /// The Fixpoint id (status, priority or ticket type).
    pub target_id: i64,
}

#[derive(FromRow)]
struct CodeRow {
    kind: String,
    code: i64,
    target_id: i64,
}

pub async fn codes(conn: &mut Conn, dialect: &str) -> Result<Vec<DialectCode>> {
    let rows: Vec<CodeRow> = fetch_all(
        conn,
        Query::select()
            .columns(["kind", "code", "target_id"])
            .from("dialect_codes")
            .and_where(Expr::col("dialect").eq(dialect))
            .order_by("code", sea_query::Order::Asc),
    )
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(DialectCode {
                kind: CodeKind::parse(&r.kind)?,
                code: r.code,
                target_id: r.target_id,
            })
        })
        .collect())
}

/// Replaces a dialect's numbering of one catalogue (an admin's remap, checked by
/// [`fixpoint_core::catalog::check_numbering`]).
pub async fn set_codes(
    conn: &mut Conn,
    dialect: &str,
    kind: CodeKind,
    lines: &[CodeLine],
) -> Result<()> {
    execute(
        conn,
        Query::delete()
            .from_table("dialect_codes")
            .and_where(Expr::col("dialect").eq(dialect))
            .and_where(Expr::col("kind").eq(kind.as_str())),
    )
    .await?;
    if lines.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert
        .into_table("dialect_codes")
        .columns(["dialect", "kind", "code", "target_id"]);
    for line in lines {
        insert.values_panic([
            dialect.into(),
            kind.as_str().into(),
            line.code.into(),
            line.target_id.into(),
        ]);
    }
    execute(conn, &insert).await?;
    Ok(())
}

/// Codes from which values a vendor does not number are given theirs.
pub const EXTRA_CODES_FROM: i64 = 100;

/// A catalogue's seeded numbering: the vendor's codes for seeded values.
type Preferred = [(CodeKind, Vec<(i64, i64)>); 3];

/// Autotask's numbering (seed 002): statuses 1 New, 2 In Progress, 5 Complete,
/// 6 Waiting Customer, 13 Waiting Materials, 14 Escalated; priorities 1 Low to
/// 4 Critical; ticket types 1 Service Request to 4 Change Request.
async fn seed_autotask_codes(conn: &mut Conn) -> Result<()> {
    use seeded::*;
    let preferred: Preferred = [
        (
            CodeKind::Status,
            [
                (1, NEW),
                (2, IN_PROGRESS),
                (5, COMPLETE),
                (6, WAITING_CUSTOMER),
                (13, WAITING_MATERIALS),
                (14, ESCALATED),
            ]
            .map(|(c, s)| (c, s.0))
            .to_vec(),
        ),
        (
            CodeKind::Priority,
            [(1, LOW), (2, MEDIUM), (3, HIGH), (4, CRITICAL)]
                .map(|(c, p)| (c, p.0))
                .to_vec(),
        ),
        (
            CodeKind::TicketType,
            [
                (1, SERVICE_REQUEST),
                (2, INCIDENT),
                (3, PROBLEM),
                (4, CHANGE_REQUEST),
            ]
            .map(|(c, t)| (c, t.0))
            .to_vec(),
        ),
    ];
    seed_codes(conn, "autotask", preferred).await
}

/// HaloPSA's default numbering (seed 003): statuses 1 New, 2 In Progress, 3 Pending,
/// 4 On Hold, 5 Waiting on Client, 6 Waiting on Third Party, 8 Resolved, 9 Closed;
/// priorities 1 Critical to 4 Low; request types 1 Incident, 2 Change Request,
/// 3 Service Request, 4 Problem.
async fn seed_halopsa_codes(conn: &mut Conn) -> Result<()> {
    use seeded::*;
    let preferred: Preferred = [
        (
            CodeKind::Status,
            [
                (1, NEW),
                (2, IN_PROGRESS),
                (3, PENDING),
                (4, ON_HOLD),
                (5, WAITING_CUSTOMER),
                (6, WAITING_THIRD_PARTY),
                (8, RESOLVED),
                (9, COMPLETE),
            ]
            .map(|(c, s)| (c, s.0))
            .to_vec(),
        ),
        (
            CodeKind::Priority,
            [(1, CRITICAL), (2, HIGH), (3, MEDIUM), (4, LOW)]
                .map(|(c, p)| (c, p.0))
                .to_vec(),
        ),
        (
            CodeKind::TicketType,
            [
                (1, INCIDENT),
                (2, CHANGE_REQUEST),
                (3, SERVICE_REQUEST),
                (4, PROBLEM),
            ]
            .map(|(c, t)| (c, t.0))
            .to_vec(),
        ),
    ];
    seed_codes(conn, "halopsa", preferred).await
}

/// Numbers each catalogue a dialect has never numbered: the vendor's codes for the
/// seeded values still there, then every other value the next free code from
/// [`EXTRA_CODES_FROM`]. A value added later keeps the code it was first read with
/// (1000 + its id) until an admin numbers it, across restarts.
async fn seed_codes(conn: &mut Conn, dialect: &str, preferred: Preferred) -> Result<()> {
    let existing = codes(conn, dialect).await?;
    let catalog = crate::catalog::load(conn).await?;
    for (kind, preferred) in preferred {
        if existing.iter().any(|c| c.kind == kind) {
            continue;
        }
        let targets = kind.values(&catalog);
        let mut lines: Vec<CodeLine> = preferred
            .into_iter()
            .filter(|(_, t)| targets.contains(t))
            .map(|(code, target_id)| CodeLine { code, target_id })
            .collect();
        for target_id in targets {
            if lines.iter().any(|l| l.target_id == target_id) {
                continue;
            }
            let code = (EXTRA_CODES_FROM..)
                .find(|c| !lines.iter().any(|l| l.code == *c))
                .unwrap_or(EXTRA_CODES_FROM);
            lines.push(CodeLine { code, target_id });
        }
        set_codes(conn, dialect, kind, &lines).await?;
    }
    Ok(())
}
