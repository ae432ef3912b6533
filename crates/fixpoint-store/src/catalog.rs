//! Catalogue rows: statuses and their moves, priorities, ticket and issue types,
//! workflow settings.

use fixpoint_core::catalog::{
    Catalog, IssueType, Priority, Status, TicketCategory, TicketType, WorkflowSettings,
    default_catalog,
};
use fixpoint_core::ids::{
    IssueTypeId, PriorityId, QueueId, SlaPolicyId, StatusId, TicketCategoryId, TicketTypeId,
};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sqlx::FromRow;

use crate::db::{
    Conn, Result, enum_text, execute, fetch_all, fetch_optional, fetch_scalar, insert_id,
    parse_enum, sync_identity,
};

const SETTINGS_KEY: &str = "workflow";

/// Seeds the default catalogue into an empty database; leaves an existing one alone.
pub async fn seed_defaults(conn: &mut Conn) -> Result<()> {
    let count = fetch_scalar(
        conn,
        Query::select()
            .expr(Expr::col("id").count())
            .from("statuses"),
    )
    .await?;
    if count > 0 {
        return Ok(());
    }
    let defaults = default_catalog();
    for s in &defaults.statuses {
        execute(conn, &status_insert(s)).await?;
    }
    for (from, to) in &defaults.transitions {
        execute(
            conn,
            Query::insert()
                .into_table("status_transitions")
                .columns(["from_status_id", "to_status_id"])
                .values_panic([from.0.into(), to.0.into()]),
        )
        .await?;
    }
    for p in &defaults.priorities {
        execute(
            conn,
            Query::insert()
                .into_table("priorities")
                .columns(["id", "name", "urgency_rank", "active"])
                .values_panic([
                    p.id.0.into(),
                    p.name.clone().into(),
                    p.urgency_rank.into(),
                    p.active.into(),
                ]),
        )
        .await?;
    }
    for t in &defaults.ticket_types {
        execute(
            conn,
            Query::insert()
                .into_table("ticket_types")
                .columns(["id", "name", "kind", "active"])
                .values_panic([
                    t.id.0.into(),
                    t.name.clone().into(),
                    enum_text(t.kind).into(),
                    t.active.into(),
                ]),
        )
        .await?;
    }
    for table in ["statuses", "priorities", "ticket_types"] {
        sync_identity(conn, table).await?;
    }
    save_settings(conn, &defaults.settings).await
}

/// Inserts a status row; a zero id lets the database pick one.
fn status_insert(s: &Status) -> sea_query::InsertStatement {
    let mut columns = vec![
        "name",
        "category",
        "sla_clock",
        "requires_resolution",
        "requires_escalation_reason",
        "active",
        "sort_order",
    ];
    let mut values: Vec<Expr> = vec![
        s.name.clone().into(),
        enum_text(s.category).into(),
        enum_text(s.sla_clock).into(),
        s.requires_resolution.into(),
        s.requires_escalation_reason.into(),
        s.active.into(),
        s.sort_order.into(),
    ];
    if s.id.0 != 0 {
        columns.push("id");
        values.push(s.id.0.into());
    }
    Query::insert()
        .into_table("statuses")
        .columns(columns)
        .values_panic(values)
        .to_owned()
}

#[derive(FromRow)]
struct StatusRow {
    id: i64,
    name: String,
    category: String,
    sla_clock: String,
    requires_resolution: bool,
    requires_escalation_reason: bool,
    active: bool,
    sort_order: i32,
}

impl StatusRow {
    fn into_status(self) -> Result<Status> {
        Ok(Status {
            id: StatusId(self.id),
            name: self.name,
            category: parse_enum(&self.category)?,
            sla_clock: parse_enum(&self.sla_clock)?,
            requires_resolution: self.requires_resolution,
            requires_escalation_reason: self.requires_escalation_reason,
            active: self.active,
            sort_order: self.sort_order,
        })
    }
}

pub async fn statuses(conn: &mut Conn) -> Result<Vec<Status>> {
    let rows: Vec<StatusRow> = fetch_all(
        conn,
        Query::select()
            .columns([
                "id",
                "name",
                "category",
                "sla_clock",
                "requires_resolution",
                "requires_escalation_reason",
                "active",
                "sort_order",
            ])
            .from("statuses")
            .order_by("sort_order", Order::Asc)
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter().map(StatusRow::into_status).collect()
}

/// Adds a status; its id is ignored and a new one returned.
pub async fn insert_status(conn: &mut Conn, status: &Status) -> Result<StatusId> {
    let new = Status {
        id: StatusId(0),
        ..status.clone()
    };
    insert_id(conn, status_insert(&new)).await.map(StatusId)
}

pub async fn update_status(conn: &mut Conn, status: &Status) -> Result<()> {
    execute(
        conn,
        Query::update()
            .table("statuses")
            .values([
                ("name", status.name.clone().into()),
                ("category", enum_text(status.category).into()),
                ("sla_clock", enum_text(status.sla_clock).into()),
                ("requires_resolution", status.requires_resolution.into()),
                (
                    "requires_escalation_reason",
                    status.requires_escalation_reason.into(),
                ),
                ("active", status.active.into()),
                ("sort_order", status.sort_order.into()),
            ])
            .and_where(Expr::col("id").eq(status.id.0)),
    )
    .await?;
    Ok(())
}

pub async fn add_transition(conn: &mut Conn, from: StatusId, to: StatusId) -> Result<()> {
    execute(
        conn,
        Query::insert()
            .into_table("status_transitions")
            .columns(["from_status_id", "to_status_id"])
            .values_panic([from.0.into(), to.0.into()])
            .on_conflict(
                OnConflict::columns(["from_status_id", "to_status_id"])
                    .do_nothing()
                    .to_owned(),
            ),
    )
    .await
    .map(drop)
}

/// Replaces the moves allowed out of `from`.
pub async fn set_transitions(conn: &mut Conn, from: StatusId, to: &[StatusId]) -> Result<()> {
    execute(
        conn,
        Query::delete()
            .from_table("status_transitions")
            .and_where(Expr::col("from_status_id").eq(from.0)),
    )
    .await?;
    for target in to {
        execute(
            conn,
            Query::insert()
                .into_table("status_transitions")
                .columns(["from_status_id", "to_status_id"])
                .values_panic([from.0.into(), target.0.into()]),
        )
        .await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct PriorityRow {
    id: i64,
    name: String,
    urgency_rank: i32,
    active: bool,
}

pub async fn priorities(conn: &mut Conn) -> Result<Vec<Priority>> {
    let rows: Vec<PriorityRow> = fetch_all(
        conn,
        Query::select()
            .columns(["id", "name", "urgency_rank", "active"])
            .from("priorities")
            .order_by("urgency_rank", Order::Asc)
            .order_by("id", Order::Asc),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Priority {
            id: PriorityId(r.id),
            name: r.name,
            urgency_rank: r.urgency_rank,
            active: r.active,
        })
        .collect())
}

pub async fn save_priority(conn: &mut Conn, p: &Priority) -> Result<PriorityId> {
    if p.id.0 == 0 {
        let q = Query::insert()
            .into_table("priorities")
            .columns(["name", "urgency_rank", "active"])
            .values_panic([
                p.name.clone().into(),
                p.urgency_rank.into(),
                p.active.into(),
            ])
            .to_owned();
        return insert_id(conn, q).await.map(PriorityId);
    }
    execute(
        conn,
        Query::update()
            .table("priorities")
            .values([
                ("name", p.name.clone().into()),
                ("urgency_rank", p.urgency_rank.into()),
                ("active", p.active.into()),
            ])
            .and_where(Expr::col("id").eq(p.id.0)),
    )
    .await?;
    Ok(p.id)
}

#[derive(FromRow)]
struct TicketTypeRow {
    id: i64,
    name: String,
    kind: String,
    active: bool,
}

pub async fn ticket_types(conn: &mut Conn) -> Result<Vec<TicketType>> {
    let rows: Vec<TicketTypeRow> = fetch_all(
        conn,
        Query::select()
            .columns(["id", "name", "kind", "active"])
            .from("ticket_types")
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(TicketType {
                id: TicketTypeId(r.id),
                name: r.name,
                kind: parse_enum(&r.kind)?,
                active: r.active,
            })
        })
        .collect()
}

pub async fn save_ticket_type(conn: &mut Conn, t: &TicketType) -> Result<TicketTypeId> {
    if t.id.0 == 0 {
        let q = Query::insert()
            .into_table("ticket_types")
            .columns(["name", "kind", "active"])
            .values_panic([
                t.name.clone().into(),
                enum_text(t.kind).into(),
                t.active.into(),
            ])
            .to_owned();
        return insert_id(conn, q).await.map(TicketTypeId);
    }
    execute(
        conn,
        Query::update()
            .table("ticket_types")
            .values([
                ("name", t.name.clone().into()),
                ("kind", enum_text(t.kind).into()),
                ("active", t.active.into()),
            ])
            .and_where(Expr::col("id").eq(t.id.0)),
    )
    .await?;
    Ok(t.id)
}

const CATEGORY_COLUMNS: [&str; 11] = [
    "id",
    "name",
    "active",
    "is_default",
    "queue_requirement",
    "default_priority_id",
    "default_type_id",
    "default_queue_id",
    "sla_policy_id",
    "due_in_days",
    "due_time",
];

#[derive(FromRow)]
struct CategoryRow {
    id: i64,
    name: String,
    active: bool,
    is_default: bool,
    queue_requirement: String,
    default_priority_id: Option<i64>,
    default_type_id: Option<i64>,
    default_queue_id: Option<i64>,
    sla_policy_id: Option<i64>,
    due_in_days: Option<i32>,
    due_time: Option<String>,
}

impl CategoryRow {
    fn into_category(self) -> Result<TicketCategory> {
        let due_time = match self.due_time {
            Some(text) => Some(text.parse().map_err(|e| {
                crate::StoreError::Corrupt(format!("due_time of ticket category {}: {e}", self.id))
            })?),
            None => None,
        };
        Ok(TicketCategory {
            id: TicketCategoryId(self.id),
            name: self.name,
            active: self.active,
            is_default: self.is_default,
            queue_requirement: parse_enum(&self.queue_requirement)?,
            default_priority_id: self.default_priority_id.map(PriorityId),
            default_type_id: self.default_type_id.map(TicketTypeId),
            default_queue_id: self.default_queue_id.map(QueueId),
            sla_policy_id: self.sla_policy_id.map(SlaPolicyId),
            due_in_days: self.due_in_days,
            due_time,
        })
    }
}

pub async fn ticket_categories(conn: &mut Conn) -> Result<Vec<TicketCategory>> {
    let rows: Vec<CategoryRow> = fetch_all(
        conn,
        Query::select()
            .columns(CATEGORY_COLUMNS)
            .from("ticket_categories")
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter().map(CategoryRow::into_category).collect()
}

/// Inserts (id 0) or replaces a category. Making one the default unmakes the others.
pub async fn save_ticket_category(conn: &mut Conn, c: &TicketCategory) -> Result<TicketCategoryId> {
    let values: Vec<Expr> = vec![
        c.name.clone().into(),
        c.active.into(),
        c.is_default.into(),
        enum_text(c.queue_requirement).into(),
        c.default_priority_id.map(|v| v.0).into(),
        c.default_type_id.map(|v| v.0).into(),
        c.default_queue_id.map(|v| v.0).into(),
        c.sla_policy_id.map(|v| v.0).into(),
        c.due_in_days.into(),
        c.due_time.map(|t| t.to_string()).into(),
    ];
    let id = if c.id.0 == 0 {
        let q = Query::insert()
            .into_table("ticket_categories")
            .columns(CATEGORY_COLUMNS[1..].iter().copied())
            .values_panic(values)
            .to_owned();
        insert_id(conn, q).await?
    } else {
        execute(
            conn,
            Query::update()
                .table("ticket_categories")
                .values(CATEGORY_COLUMNS[1..].iter().copied().zip(values))
                .and_where(Expr::col("id").eq(c.id.0)),
        )
        .await?;
        c.id.0
    };
    if c.is_default {
        execute(
            conn,
            Query::update()
                .table("ticket_categories")
                .value("is_default", false)
                .and_where(Expr::col("id").ne(id)),
        )
        .await?;
    }
    Ok(TicketCategoryId(id))
}

#[derive(FromRow)]
struct IssueTypeRow {
    id: i64,
    name: String,
    parent_id: Option<i64>,
    active: bool,
}

impl From<IssueTypeRow> for IssueType {
    fn from(r: IssueTypeRow) -> Self {
        IssueType {
            id: IssueTypeId(r.id),
            name: r.name,
            parent_id: r.parent_id.map(IssueTypeId),
            active: r.active,
        }
    }
}

pub async fn issue_types(conn: &mut Conn) -> Result<Vec<IssueType>> {
    let rows: Vec<IssueTypeRow> = fetch_all(
        conn,
        Query::select()
            .columns(["id", "name", "parent_id", "active"])
            .from("issue_types")
            .order_by("id", Order::Asc),
    )
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn issue_type(conn: &mut Conn, id: IssueTypeId) -> Result<Option<IssueType>> {
    Ok(issue_types_by_id(conn, &[id]).await?.pop())
}

/// The issue types with these ids; missing ids are simply absent.
pub async fn issue_types_by_id(conn: &mut Conn, ids: &[IssueTypeId]) -> Result<Vec<IssueType>> {
    let ids = crate::db::distinct(ids.iter().map(|i| i.0));
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<IssueTypeRow> = fetch_all(
        conn,
        Query::select()
            .columns(["id", "name", "parent_id", "active"])
            .from("issue_types")
            .and_where(Expr::col("id").is_in(ids)),
    )
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn insert_issue_type(
    conn: &mut Conn,
    name: &str,
    parent: Option<IssueTypeId>,
    active: bool,
) -> Result<IssueTypeId> {
    let q = Query::insert()
        .into_table("issue_types")
        .columns(["name", "parent_id", "active"])
        .values_panic([name.into(), parent.map(|p| p.0).into(), active.into()])
        .to_owned();
    insert_id(conn, q).await.map(IssueTypeId)
}

pub async fn settings(conn: &mut Conn) -> Result<WorkflowSettings> {
    #[derive(FromRow)]
    struct Row {
        value: String,
    }
    let row: Option<Row> = fetch_optional(
        conn,
        Query::select()
            .column("value")
            .from("settings")
            .and_where(Expr::col("key").eq(SETTINGS_KEY)),
    )
    .await?;
    match row {
        Some(r) => serde_json::from_str(&r.value)
            .map_err(|e| crate::StoreError::Corrupt(format!("workflow settings: {e}"))),
        None => Ok(WorkflowSettings::default()),
    }
}

pub async fn save_settings(conn: &mut Conn, settings: &WorkflowSettings) -> Result<()> {
    let value =
        serde_json::to_string(settings).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
    execute(
        conn,
        Query::insert()
            .into_table("settings")
            .columns(["key", "value"])
            .values_panic([SETTINGS_KEY.into(), value.into()])
            .on_conflict(OnConflict::column("key").update_column("value").to_owned()),
    )
    .await?;
    Ok(())
}

pub async fn transitions(conn: &mut Conn) -> Result<Vec<(StatusId, StatusId)>> {
    #[derive(FromRow)]
    struct Row {
        from_status_id: i64,
        to_status_id: i64,
    }
    let rows: Vec<Row> = fetch_all(
        conn,
        Query::select()
            .columns(["from_status_id", "to_status_id"])
            .from("status_transitions"),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (StatusId(r.from_status_id), StatusId(r.to_status_id)))
        .collect())
}

/// Everything the workflow rules read, in one go.
pub async fn load(conn: &mut Conn) -> Result<Catalog> {
    Ok(Catalog {
        statuses: statuses(conn).await?,
        priorities: priorities(conn).await?,
        ticket_types: ticket_types(conn).await?,
        transitions: transitions(conn).await?,
        categories: ticket_categories(conn).await?,
        settings: settings(conn).await?,
    })
}
