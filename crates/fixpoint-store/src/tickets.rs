//! Tickets: numbering, rows, secondary resources, history, and the list query.

use std::collections::{BTreeMap, HashMap};

use fixpoint_core::catalog::TicketKind;
use fixpoint_core::filter::{Sort, SortKey};
use fixpoint_core::ids::*;
use fixpoint_core::query::Node;
use fixpoint_core::rules::LinkedTicket;
use fixpoint_core::ticket::{self, FieldChange, HistoryEntry, Ticket};
use jiff::Timestamp;
use sea_query::{
    Condition, Expr, ExprTrait, LockType, OnConflict, Order, Query, SelectStatement, UnionType,
};
use sqlx::FromRow;

use crate::db::{
    Backend, Conn, Result, StoreError, Writes, backend, enum_text, execute, fetch_all,
    fetch_optional, fetch_scalar, instant, micros, opt_instant, parse_enum,
};

const COLUMNS: &[&str] = &[
    "id",
    "number",
    "title",
    "description",
    "company_id",
    "location_id",
    "contact_id",
    "status_id",
    "priority_id",
    "type_id",
    "ticket_category_id",
    "queue_id",
    "issue_type_id",
    "sub_issue_type_id",
    "category_1",
    "category_2",
    "category_3",
    "category_4",
    "source",
    "assigned_resource_id",
    "assigned_role_id",
    "contract_id",
    "due_at",
    "estimated_minutes",
    "resolution",
    "escalation_reason",
    "problem_ticket_id",
    "custom_fields",
    "created_at",
    "updated_at",
    "first_response_at",
    "resolution_plan_at",
    "resolved_at",
    "completed_at",
    "last_activity_at",
    "sla_policy_id",
    "sla_paused_seconds",
    "sla_paused_since",
    "response_due_at",
    "resolution_plan_due_at",
    "resolution_due_at",
    "resolution_business_seconds",
    "sla_starts_at",
    "response_at_risk_at",
    "resolution_at_risk_at",
    "version",
];

#[derive(FromRow)]
struct TicketRow {
    id: i64,
    number: String,
    title: String,
    description: Option<String>,
    company_id: i64,
    location_id: Option<i64>,
    contact_id: Option<i64>,
    status_id: i64,
    priority_id: i64,
    type_id: i64,
    ticket_category_id: Option<i64>,
    queue_id: Option<i64>,
    issue_type_id: Option<i64>,
    sub_issue_type_id: Option<i64>,
    category_1: Option<String>,
    category_2: Option<String>,
    category_3: Option<String>,
    category_4: Option<String>,
    source: String,
    assigned_resource_id: Option<i64>,
    assigned_role_id: Option<i64>,
    contract_id: Option<i64>,
    due_at: Option<i64>,
    estimated_minutes: Option<i64>,
    resolution: Option<String>,
    escalation_reason: Option<String>,
    problem_ticket_id: Option<i64>,
    custom_fields: String,
    created_at: i64,
    updated_at: i64,
    first_response_at: Option<i64>,
    resolution_plan_at: Option<i64>,
    resolved_at: Option<i64>,
    completed_at: Option<i64>,
    last_activity_at: i64,
    sla_policy_id: Option<i64>,
    sla_paused_seconds: i64,
    sla_paused_since: Option<i64>,
    response_due_at: Option<i64>,
    resolution_plan_due_at: Option<i64>,
    resolution_due_at: Option<i64>,
    resolution_business_seconds: Option<i64>,
    sla_starts_at: Option<i64>,
    response_at_risk_at: Option<i64>,
    resolution_at_risk_at: Option<i64>,
    version: i64,
    /// In their order, comma-separated ([`SECONDARY_RESOURCE_IDS`]).
    secondary_resource_ids: Option<String>,
}

/// A ticket's secondary resources in the ticket's own row, as one text (both backends
/// have `string_agg` with an order): reading them with a second query cost every read
/// of tickets a round trip.
const SECONDARY_RESOURCE_IDS: &str = "(SELECT string_agg(CAST(s.resource_id AS TEXT), ',' ORDER BY s.position) \
    FROM ticket_secondary_resources s WHERE s.ticket_id = tickets.id)";

impl TicketRow {
    fn into_ticket(self) -> Result<Ticket> {
        let secondary_resource_ids = self
            .secondary_resource_ids
            .as_deref()
            .map_or(Ok(Vec::new()), |ids| {
                ids.split(',')
                    .map(|id| id.parse().map(ResourceId))
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
            .map_err(|e| {
                StoreError::Corrupt(format!("secondary resources of ticket {}: {e}", self.id))
            })?;
        let custom_fields: BTreeMap<String, String> = serde_json::from_str(&self.custom_fields)
            .map_err(|e| {
                StoreError::Corrupt(format!("custom fields of ticket {}: {e}", self.id))
            })?;
        Ok(Ticket {
            id: TicketId(self.id),
            number: self.number,
            title: self.title,
            description: self.description,
            company_id: CompanyId(self.company_id),
            location_id: self.location_id.map(LocationId),
            contact_id: self.contact_id.map(ContactId),
            status_id: StatusId(self.status_id),
            priority_id: PriorityId(self.priority_id),
            type_id: TicketTypeId(self.type_id),
            ticket_category_id: self.ticket_category_id.map(TicketCategoryId),
            queue_id: self.queue_id.map(QueueId),
            issue_type_id: self.issue_type_id.map(IssueTypeId),
            sub_issue_type_id: self.sub_issue_type_id.map(IssueTypeId),
            categories: [
                self.category_1,
                self.category_2,
                self.category_3,
                self.category_4,
            ]
            .into_iter()
            .map_while(|c| c)
            .collect(),
            source: parse_enum(&self.source)?,
            assigned_resource_id: self.assigned_resource_id.map(ResourceId),
            assigned_role_id: self.assigned_role_id.map(RoleId),
            secondary_resource_ids,
            contract_id: self.contract_id.map(ContractId),
            due_at: opt_instant(self.due_at)?,
            estimated_minutes: self.estimated_minutes,
            resolution: self.resolution,
            escalation_reason: self.escalation_reason,
            problem_ticket_id: self.problem_ticket_id.map(TicketId),
            custom_fields,
            created_at: instant(self.created_at)?,
            updated_at: instant(self.updated_at)?,
            first_response_at: opt_instant(self.first_response_at)?,
            resolution_plan_at: opt_instant(self.resolution_plan_at)?,
            resolved_at: opt_instant(self.resolved_at)?,
            completed_at: opt_instant(self.completed_at)?,
            last_activity_at: instant(self.last_activity_at)?,
            sla_policy_id: self.sla_policy_id.map(SlaPolicyId),
            response_due_at: opt_instant(self.response_due_at)?,
            resolution_plan_due_at: opt_instant(self.resolution_plan_due_at)?,
            resolution_due_at: opt_instant(self.resolution_due_at)?,
            sla_clock: fixpoint_core::sla::ClockState {
                paused_seconds: self.sla_paused_seconds,
                paused_since: opt_instant(self.sla_paused_since)?,
                resolution_business_seconds: self.resolution_business_seconds,
                starts_at: opt_instant(self.sla_starts_at)?,
                response_at_risk_at: opt_instant(self.response_at_risk_at)?,
                resolution_at_risk_at: opt_instant(self.resolution_at_risk_at)?,
            },
            version: self.version,
        })
    }
}

/// The column values of a ticket, in [`COLUMNS`] order without `id`.
fn values(t: &Ticket) -> Vec<Expr> {
    let category = |i: usize| t.categories.get(i).cloned();
    let custom_fields = serde_json::to_string(&t.custom_fields).unwrap_or_else(|_| "{}".to_owned());
    vec![
        t.number.clone().into(),
        t.title.clone().into(),
        t.description.clone().into(),
        t.company_id.0.into(),
        t.location_id.map(|v| v.0).into(),
        t.contact_id.map(|v| v.0).into(),
        t.status_id.0.into(),
        t.priority_id.0.into(),
        t.type_id.0.into(),
        t.ticket_category_id.map(|v| v.0).into(),
        t.queue_id.map(|v| v.0).into(),
        t.issue_type_id.map(|v| v.0).into(),
        t.sub_issue_type_id.map(|v| v.0).into(),
        category(0).into(),
        category(1).into(),
        category(2).into(),
        category(3).into(),
        enum_text(t.source).into(),
        t.assigned_resource_id.map(|v| v.0).into(),
        t.assigned_role_id.map(|v| v.0).into(),
        t.contract_id.map(|v| v.0).into(),
        t.due_at.map(micros).into(),
        t.estimated_minutes.into(),
        t.resolution.clone().into(),
        t.escalation_reason.clone().into(),
        t.problem_ticket_id.map(|v| v.0).into(),
        custom_fields.into(),
        micros(t.created_at).into(),
        micros(t.updated_at).into(),
        t.first_response_at.map(micros).into(),
        t.resolution_plan_at.map(micros).into(),
        t.resolved_at.map(micros).into(),
        t.completed_at.map(micros).into(),
        micros(t.last_activity_at).into(),
        t.sla_policy_id.map(|v| v.0).into(),
        t.sla_clock.paused_seconds.into(),
        t.sla_clock.paused_since.map(micros).into(),
        t.response_due_at.map(micros).into(),
        t.resolution_plan_due_at.map(micros).into(),
        t.resolution_due_at.map(micros).into(),
        t.sla_clock.resolution_business_seconds.into(),
        t.sla_clock.starts_at.map(micros).into(),
        t.sla_clock.response_at_risk_at.map(micros).into(),
        t.sla_clock.resolution_at_risk_at.map(micros).into(),
        t.version.into(),
    ]
}

/// Hands out the next number of the ticket's creation day, in the caller's
/// transaction, so numbers are unique and a rolled-back create leaves at most a gap.
/// Takes the next `count` numbers of `day` from its sequence; returns the last one.
async fn reserve_numbers(conn: &mut Conn, day: jiff::civil::Date, count: i64) -> Result<i64> {
    let key = day.strftime("%Y%m%d").to_string();
    let mut q = Query::insert();
    q.into_table("ticket_number_sequences")
        .columns(["day", "last"])
        .values_panic([key.into(), count.into()])
        .on_conflict(
            OnConflict::column("day")
                .value(
                    "last",
                    Expr::col(("ticket_number_sequences", "last")).add(count),
                )
                .to_owned(),
        )
        .returning_col("last");
    fetch_scalar(conn, &q).await
}

/// Writes new tickets, each with the next number of its day, its secondary resources
/// and a `created` history row by the actor beside it, in a few statements for the
/// lot (concurrent creates are written together). Returns them as stored, in order.
pub async fn insert(conn: &mut Conn, new: Vec<(Ticket, &str)>) -> Result<Vec<Ticket>> {
    let mut later = Writes::default();
    let tickets = insert_then(conn, new, &mut later).await?;
    later.run(conn).await?;
    Ok(tickets)
}

/// [`insert`], leaving all but the ticket rows (which give the ids) in `later`, for the
/// caller to add its own and run them together.
pub async fn insert_then(
    conn: &mut Conn,
    new: Vec<(Ticket, &str)>,
    later: &mut Writes,
) -> Result<Vec<Ticket>> {
    let (mut tickets, actors): (Vec<Ticket>, Vec<&str>) = new.into_iter().unzip();
    for t in &mut tickets {
        t.number.clear();
    }
    write_rows(conn, &mut tickets, later).await?;
    let secondaries: Vec<(TicketId, usize, ResourceId)> =
        tickets.iter().flat_map(secondary_rows).collect();
    add_secondary_rows(later, &secondaries);
    let created: Vec<FieldChange> = tickets
        .iter()
        .map(|t| FieldChange {
            field: "created".to_owned(),
            old: None,
            new: Some(t.number.clone()),
        })
        .collect();
    let history: Vec<HistoryRow<'_>> = tickets
        .iter()
        .zip(&actors)
        .zip(&created)
        .map(|((t, actor), change)| HistoryRow {
            ticket: t.id,
            version: t.version,
            at: t.created_at,
            actor,
            change,
        })
        .collect();
    add_history(later, &history);
    Ok(tickets)
}

/// Writes many tickets in the caller's transaction, a few hundred rows a statement:
/// for imports and benchmark datasets. No history rows. A ticket without a number
/// gets the next of its day from the same sequence single creates use, so later
/// creates never collide with an import. Returns the new ids in order.
pub async fn insert_many(conn: &mut Conn, tickets: &[Ticket]) -> Result<Vec<TicketId>> {
    let mut tickets = tickets.to_vec();
    let mut documents = Writes::default();
    write_rows(conn, &mut tickets, &mut documents).await?;
    documents.run(conn).await?;
    Ok(tickets.iter().map(|t| t.id).collect())
}

/// Numbers the tickets that have no number, writes their rows, sets their ids and
/// leaves their search documents in `later`.
async fn write_rows(conn: &mut Conn, tickets: &mut [Ticket], later: &mut Writes) -> Result<()> {
    let backend = backend(conn);
    let mut days: Vec<(jiff::civil::Date, Vec<usize>)> = Vec::new();
    for (i, t) in tickets
        .iter()
        .enumerate()
        .filter(|(_, t)| t.number.is_empty())
    {
        let day = ticket::number_day(t.created_at);
        match days.iter_mut().find(|(d, _)| *d == day) {
            Some((_, at)) => at.push(i),
            None => days.push((day, vec![i])),
        }
    }
    for (day, at) in days {
        let last = reserve_numbers(conn, day, at.len() as i64).await?;
        let first = last - at.len() as i64 + 1;
        for (n, i) in at.into_iter().enumerate() {
            tickets[i].number = ticket::ticket_number(day, first + n as i64);
        }
    }
    for chunk in tickets.chunks_mut(500) {
        let mut q = Query::insert();
        q.into_table("tickets")
            .columns(COLUMNS[1..].iter().copied())
            .returning(Query::returning().columns(["id", "number"]));
        for t in chunk.iter() {
            q.values_panic(values(t));
        }
        // RETURNING promises no order: each row is matched to its ticket by number.
        let rows: HashMap<String, i64> = fetch_all::<(i64, String)>(conn, &q)
            .await?
            .into_iter()
            .map(|(id, number)| (number, id))
            .collect();
        for t in chunk.iter_mut() {
            t.id = TicketId(rows.get(&t.number).copied().ok_or_else(|| {
                StoreError::Corrupt(format!("ticket {} was not written", t.number))
            })?);
        }
        crate::search::index_new(backend, chunk, later);
    }
    Ok(())
}

/// Deletes a ticket and everything recorded on it (notes, time, history,
/// escalations, SLA alerts, its mail, its search document), in the caller's transaction.
pub async fn delete(conn: &mut Conn, id: TicketId) -> Result<bool> {
    // A received message is remembered without its ticket, so it is still taken once.
    execute(
        conn,
        Query::update()
            .table("inbound_messages")
            .values([
                ("ticket_id", Option::<i64>::None.into()),
                ("note_id", Option::<i64>::None.into()),
            ])
            .and_where(Expr::col("ticket_id").eq(id.0)),
    )
    .await?;
    for table in [
        "sla_alerts",
        "mail_messages",
        "ticket_secondary_resources",
        "attachments",
        "time_entries",
        "notes",
        "ticket_history",
        "escalations",
    ] {
        execute(
            conn,
            Query::delete()
                .from_table(table)
                .and_where(Expr::col("ticket_id").eq(id.0)),
        )
        .await?;
    }
    if backend(conn) == Backend::Sqlite {
        execute(
            conn,
            Query::delete()
                .from_table("ticket_search")
                .and_where(Expr::col("rowid").eq(id.0)),
        )
        .await?;
    }
    let deleted = execute(
        conn,
        Query::delete()
            .from_table("tickets")
            .and_where(Expr::col("id").eq(id.0)),
    )
    .await?;
    Ok(deleted > 0)
}

/// Outcome of a guarded update.
#[derive(Debug, PartialEq, Eq)]
pub enum Updated {
    Yes,
    /// Somebody else changed the ticket since `before` was read.
    VersionConflict,
}

/// Writes `after` over `before` if the stored version is still `before.version`,
/// with one history row per changed field, all in the caller's transaction.
pub async fn update(
    conn: &mut Conn,
    before: &Ticket,
    after: &Ticket,
    changes: &[FieldChange],
    actor: &str,
) -> Result<Updated> {
    let mut later = Writes::default();
    let updated = update_then(conn, before, after, changes, actor, &mut later).await?;
    later.run(conn).await?;
    Ok(updated)
}

/// [`update`], leaving all but the ticket's row (whose version decides) in `later`, for
/// the caller to add its own and run them together. Nothing is left on a conflict.
pub async fn update_then(
    conn: &mut Conn,
    before: &Ticket,
    after: &Ticket,
    changes: &[FieldChange],
    actor: &str,
    later: &mut Writes,
) -> Result<Updated> {
    let columns = COLUMNS[1..].iter().copied();
    let q = Query::update()
        .table("tickets")
        .values(columns.zip(values(after)))
        .and_where(Expr::col("id").eq(before.id.0))
        .and_where(Expr::col("version").eq(before.version))
        .to_owned();
    if execute(conn, &q).await? == 0 {
        return Ok(Updated::VersionConflict);
    }
    if before.secondary_resource_ids != after.secondary_resource_ids {
        later.push(
            Query::delete()
                .from_table("ticket_secondary_resources")
                .and_where(Expr::col("ticket_id").eq(after.id.0))
                .to_owned(),
        );
        let rows: Vec<(TicketId, usize, ResourceId)> = secondary_rows(after).collect();
        add_secondary_rows(later, &rows);
    }
    if before.title != after.title || before.description != after.description {
        crate::search::refresh_later(backend(conn), &[after.id], later);
    }
    history_later(
        later,
        after.id,
        after.version,
        after.updated_at,
        actor,
        changes,
    );
    Ok(Updated::Yes)
}

/// A ticket's secondary resources as `(ticket, position, resource)` rows.
fn secondary_rows(t: &Ticket) -> impl Iterator<Item = (TicketId, usize, ResourceId)> + '_ {
    t.secondary_resource_ids
        .iter()
        .enumerate()
        .map(|(position, r)| (t.id, position, *r))
}

/// `(ticket, position, resource)` rows, a few hundred per statement.
fn add_secondary_rows(later: &mut Writes, rows: &[(TicketId, usize, ResourceId)]) {
    for chunk in rows.chunks(500) {
        let mut q = Query::insert();
        q.into_table("ticket_secondary_resources").columns([
            "ticket_id",
            "resource_id",
            "position",
        ]);
        for (ticket, position, id) in chunk {
            q.values_panic([ticket.0.into(), id.0.into(), (*position as i64).into()]);
        }
        later.push(q);
    }
}

const HISTORY: &[&str] = &[
    "id",
    "ticket_id",
    "version",
    "at",
    "actor",
    "field",
    "old_value",
    "new_value",
];

/// One history row per change of one ticket, to run with the caller's other writes.
pub fn history_later(
    later: &mut Writes,
    ticket: TicketId,
    version: i64,
    at: Timestamp,
    actor: &str,
    changes: &[FieldChange],
) {
    history_rows_later(
        later,
        changes.iter().map(|c| (ticket, version, c)),
        at,
        actor,
    );
}

/// History rows for many tickets at once (a sweep), a few hundred per statement.
pub async fn write_history_rows(
    conn: &mut Conn,
    rows: &[(TicketId, i64, &FieldChange)],
    at: Timestamp,
    actor: &str,
) -> Result<()> {
    let mut later = Writes::default();
    history_rows_later(&mut later, rows.iter().copied(), at, actor);
    later.run(conn).await
}

/// History rows by one actor at one instant, to run with the caller's other writes.
fn history_rows_later<'a>(
    later: &mut Writes,
    rows: impl IntoIterator<Item = (TicketId, i64, &'a FieldChange)>,
    at: Timestamp,
    actor: &str,
) {
    let rows: Vec<HistoryRow<'_>> = rows
        .into_iter()
        .map(|(ticket, version, change)| HistoryRow {
            ticket,
            version,
            at,
            actor,
            change,
        })
        .collect();
    add_history(later, &rows);
}

struct HistoryRow<'a> {
    ticket: TicketId,
    version: i64,
    at: Timestamp,
    actor: &'a str,
    change: &'a FieldChange,
}

fn add_history(later: &mut Writes, rows: &[HistoryRow<'_>]) {
    for chunk in rows.chunks(500) {
        let mut q = Query::insert();
        q.into_table("ticket_history")
            .columns(HISTORY[1..].iter().copied());
        for row in chunk {
            q.values_panic([
                row.ticket.0.into(),
                row.version.into(),
                micros(row.at).into(),
                row.actor.into(),
                row.change.field.clone().into(),
                row.change.old.clone().into(),
                row.change.new.clone().into(),
            ]);
        }
        later.push(q);
    }
}

/// Records activity on a ticket that is not a change of its fields (a note, logged time),
/// to run with the caller's other writes.
pub fn touch_later(later: &mut Writes, ticket: TicketId, at: Timestamp) {
    later.push(
        Query::update()
            .table("tickets")
            .value("last_activity_at", micros(at))
            .and_where(Expr::col("id").eq(ticket.0))
            .to_owned(),
    );
}

pub async fn history(conn: &mut Conn, ticket: TicketId) -> Result<Vec<HistoryEntry>> {
    history_where(conn, Expr::col("ticket_id").eq(ticket.0)).await
}

/// These history entries, by id ascending.
pub async fn history_by_ids(conn: &mut Conn, ids: &[i64]) -> Result<Vec<HistoryEntry>> {
    history_where(conn, Expr::col("id").is_in(ids.iter().copied())).await
}

async fn history_where(conn: &mut Conn, condition: Expr) -> Result<Vec<HistoryEntry>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        ticket_id: i64,
        version: i64,
        at: i64,
        actor: String,
        field: String,
        old_value: Option<String>,
        new_value: Option<String>,
    }
    let rows: Vec<Row> = fetch_all(
        conn,
        Query::select()
            .columns(HISTORY.iter().copied())
            .from("ticket_history")
            .and_where(condition)
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(HistoryEntry {
                id: r.id,
                ticket_id: r.ticket_id,
                version: r.version,
                at: instant(r.at)?,
                actor: r.actor,
                field: r.field,
                old_value: r.old_value,
                new_value: r.new_value,
            })
        })
        .collect()
}

fn select() -> SelectStatement {
    Query::select()
        .columns(COLUMNS.iter().map(|c| ("tickets", *c)))
        .expr_as(Expr::cust(SECONDARY_RESOURCE_IDS), "secondary_resource_ids")
        .from("tickets")
        .to_owned()
}

pub async fn get(conn: &mut Conn, id: TicketId) -> Result<Option<Ticket>> {
    one(
        conn,
        select().and_where(Expr::col(("tickets", "id")).eq(id.0)),
    )
    .await
}

/// [`get`] for a change the caller's transaction will write: on PostgreSQL the row
/// stays locked until that transaction ends, so writers of one ticket take turns and
/// each reads the version the one before it wrote, instead of reading the same version
/// and failing each other's version check. The lock leaves foreign-key checks of
/// other tickets' creates alone (NO KEY). SQLite ignores it, having one writer.
pub async fn get_to_change(conn: &mut Conn, id: TicketId) -> Result<Option<Ticket>> {
    one(
        conn,
        select()
            .and_where(Expr::col(("tickets", "id")).eq(id.0))
            .lock(LockType::NoKeyUpdate),
    )
    .await
}

async fn one(conn: &mut Conn, query: &SelectStatement) -> Result<Option<Ticket>> {
    let row: Option<TicketRow> = fetch_optional(conn, query).await?;
    row.map(TicketRow::into_ticket).transpose()
}

/// The current version of each of these tickets that exists.
pub async fn versions(conn: &mut Conn, ids: &[TicketId]) -> Result<HashMap<TicketId, i64>> {
    let ids = crate::db::distinct(ids.iter().map(|i| i.0));
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = fetch_all(
        conn,
        Query::select()
            .columns(["id", "version"])
            .from("tickets")
            .and_where(Expr::col("id").is_in(ids)),
    )
    .await?;
    Ok(rows.into_iter().map(|(id, v)| (TicketId(id), v)).collect())
}

/// What the problem/incident rules need to know about these tickets (missing ids are
/// simply absent).
pub async fn linked_by_id(conn: &mut Conn, ids: &[TicketId]) -> Result<Vec<LinkedTicket>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        kind: String,
        problem_ticket_id: Option<i64>,
    }
    let ids = crate::db::distinct(ids.iter().map(|i| i.0));
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = fetch_all(
        conn,
        Query::select()
            .column(("tickets", "id"))
            .column(("ticket_types", "kind"))
            .column(("tickets", "problem_ticket_id"))
            .from("tickets")
            .inner_join(
                "ticket_types",
                Expr::col(("ticket_types", "id")).equals(("tickets", "type_id")),
            )
            .and_where(Expr::col(("tickets", "id")).is_in(ids)),
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(LinkedTicket {
                id: TicketId(r.id),
                kind: parse_enum::<TicketKind>(&r.kind)?,
                problem_ticket_id: r.problem_ticket_id.map(TicketId),
            })
        })
        .collect()
}

/// Titles of a company's tickets in these statuses, the most recent `limit` (the
/// candidates of a duplicate check).
pub async fn recent_titles(
    conn: &mut Conn,
    company: CompanyId,
    statuses: &[StatusId],
    limit: u64,
) -> Result<Vec<(TicketId, String)>> {
    let rows: Vec<(i64, String)> = fetch_all(
        conn,
        Query::select()
            .columns(["id", "title"])
            .from("tickets")
            .and_where(Expr::col("company_id").eq(company.0))
            .and_where(Expr::col("status_id").is_in(statuses.iter().map(|s| s.0)))
            .order_by("created_at", Order::Desc)
            .limit(limit),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title)| (TicketId(id), title))
        .collect())
}

pub async fn incident_count(conn: &mut Conn, problem: TicketId) -> Result<i64> {
    fetch_scalar(
        conn,
        Query::select()
            .expr(Expr::col("id").count())
            .from("tickets")
            .and_where(Expr::col("problem_ticket_id").eq(problem.0)),
    )
    .await
}

/// Where the previous page ended: the sort value and id of its last ticket, or, for
/// relevance, how many tickets came before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    After { value: i64, id: i64 },
    Offset(u64),
}

impl Cursor {
    /// Whether this cursor can continue a list in this order.
    pub fn fits(self, sort: Sort) -> bool {
        matches!(self, Self::Offset(_)) == (sort.key == SortKey::Relevance)
    }

    pub fn encode(self) -> String {
        match self {
            Self::After { value, id } => format!("{value}_{id}"),
            Self::Offset(n) => format!("o{n}"),
        }
    }

    pub fn decode(text: &str) -> Option<Self> {
        if let Some(n) = text.strip_prefix('o') {
            // No further than SQL's signed offsets reach.
            return n
                .parse::<i64>()
                .ok()
                .and_then(|n| u64::try_from(n).ok())
                .map(Self::Offset);
        }
        let (value, id) = text.rsplit_once('_')?;
        Some(Self::After {
            value: value.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

pub struct ListQuery<'a> {
    pub filter: &'a Node,
    /// Which statuses are in which category, for `status_category` and `open`.
    pub catalog: &'a fixpoint_core::catalog::Catalog,
    /// The instant SLA states are judged at.
    pub now: Timestamp,
    pub sort: Sort,
    pub limit: u64,
    pub after: Option<Cursor>,
}

pub struct TicketPage {
    pub items: Vec<Ticket>,
    pub next_cursor: Option<Cursor>,
}

/// The sort as an SQL expression over `tickets`. Empty due dates sort last either way.
fn sort_expr(sort: Sort, filter: &Node, backend: Backend) -> Expr {
    match sort.key {
        SortKey::CreatedAt => Expr::col(("tickets", "created_at")),
        SortKey::UpdatedAt => Expr::col(("tickets", "updated_at")),
        SortKey::Id => Expr::col(("tickets", "id")),
        // Inline, not bound: the index tickets_queue_status_due is on this very expression.
        SortKey::DueAt => Expr::cust(format!(
            "COALESCE(tickets.due_at, {})",
            due_sort_empty(sort)
        )),
        SortKey::Priority => {
            Expr::cust("(SELECT p.urgency_rank FROM priorities p WHERE p.id = tickets.priority_id)")
        }
        SortKey::Relevance => crate::query::relevance(&filter.text_queries(), backend),
    }
}

/// Where tickets without a due date sort: last, in either direction. (Not i64::MIN:
/// SQLite reads that literal as a float.)
fn due_sort_empty(sort: Sort) -> i64 {
    if sort.descending { -i64::MAX } else { i64::MAX }
}

fn sort_value(sort: Sort, t: &Ticket, ranks: &HashMap<PriorityId, i64>) -> i64 {
    match sort.key {
        SortKey::CreatedAt => micros(t.created_at),
        SortKey::UpdatedAt => micros(t.updated_at),
        SortKey::Id => t.id.0,
        SortKey::DueAt => t.due_at.map(micros).unwrap_or(due_sort_empty(sort)),
        SortKey::Priority => ranks.get(&t.priority_id).copied().unwrap_or(i64::MAX),
        SortKey::Relevance => 0,
    }
}

/// The filter once per status, to read a page status by status: on PostgreSQL, for a
/// queue's page by due date kept to a few named statuses (the technician's queue
/// view), where `tickets_queue_status_due_at` gives each status's tickets in order.
/// PostgreSQL otherwise reads every open entry of the queue and sorts them (15,120 for
/// the large queue at 1M tickets: page p99 14–16 ms against 8–10 ms split, 4 clients).
/// SQLite walks those entries faster than it runs the merge (p99 5–7 ms against 8–9
/// ms split), so it keeps the one query. Nowhere else: with no index in that order, a
/// status with few matches (of a company, of a technician) reads every ticket of the
/// index it walks to fill its page — 8 ms grew to 100–370 ms on 1M tickets.
fn split_by_status(q: &ListQuery<'_>, backend: Backend) -> Option<(i64, Vec<(i64, Node)>)> {
    const MOST_BRANCHES: usize = 16;
    if backend != Backend::Postgres || q.sort.key != SortKey::DueAt {
        return None;
    }
    let queue = crate::query::fixed(q.filter, fixpoint_core::query::Column::QueueId)?;
    let branches = crate::query::status_branches(q.filter, q.catalog)
        .filter(|branches| (2..=MOST_BRANCHES).contains(&branches.len()))?;
    Some((queue, branches))
}

/// How many of one queue's tickets each of some statuses holds, from the queue
/// counts (a few rows, however large the queue).
struct QueueCounts {
    queue: i64,
    per_status: Vec<(i64, i64)>,
}

impl QueueCounts {
    async fn read(conn: &mut Conn, queue: i64, statuses: &[i64]) -> Result<Self> {
        #[derive(FromRow)]
        struct PerStatus {
            status_id: i64,
            tickets: i64,
        }
        let rows: Vec<PerStatus> = fetch_all(
            conn,
            Query::select()
                .column("status_id")
                .expr_as(Expr::cust("CAST(SUM(tickets) AS BIGINT)"), "tickets")
                .from("ticket_queue_counts")
                .and_where(Expr::col("queue_id").eq(queue))
                .and_where(Expr::col("status_id").is_in(statuses.iter().copied()))
                .group_by_col("status_id"),
        )
        .await?;
        Ok(Self {
            queue,
            per_status: rows.into_iter().map(|r| (r.status_id, r.tickets)).collect(),
        })
    }

    fn total(&self) -> i64 {
        self.per_status.iter().map(|(_, tickets)| tickets).sum()
    }

    /// The branches whose status holds any of the queue's tickets: an empty status
    /// costs its branch's planning and index probe for nothing, and a queue's tickets
    /// sit in a few of the eight open statuses. At least one stays, to read the empty
    /// page.
    fn stocked(&self, mut branches: Vec<(i64, Node)>) -> Vec<(i64, Node)> {
        let holds = |status: i64| {
            self.per_status
                .iter()
                .any(|&(s, tickets)| s == status && tickets != 0)
        };
        if branches.iter().any(|(status, _)| holds(*status)) {
            branches.retain(|(status, _)| holds(*status));
        } else {
            branches.truncate(1);
        }
        branches
    }
}

/// How many tickets a filter selects. Apart from [`list`]: counting walks every match
/// (15,000 index entries for a large queue), which a page alone never needs; a queue
/// view's count sums the queue's counts per status instead (a few rows).
pub async fn count(conn: &mut Conn, q: &ListQuery<'_>) -> Result<i64> {
    match crate::query::queue_and_statuses(q.filter, q.catalog) {
        Some((queue, statuses)) => Ok(QueueCounts::read(conn, queue, &statuses).await?.total()),
        None => count_matches(conn, q).await,
    }
}

/// [`count`] by walking every ticket the filter selects.
async fn count_matches(conn: &mut Conn, q: &ListQuery<'_>) -> Result<i64> {
    let condition = crate::query::condition(q.filter, backend(conn), q.now, q.catalog);
    fetch_scalar(
        conn,
        Query::select()
            .expr(Expr::col(sea_query::Asterisk).count())
            .from("tickets")
            .cond_where(condition),
    )
    .await
}

/// [`list`] with [`count`]. A queue view reads its queue's counts per status once, for
/// its total and for which statuses hold its page; any other filter is counted on a
/// `spare` connection beside the page, or after it without one.
pub async fn list_counted(
    conn: &mut Conn,
    spare: impl FnOnce() -> Option<crate::db::Read>,
    q: &ListQuery<'_>,
) -> Result<(TicketPage, i64)> {
    if let Some((queue, statuses)) = crate::query::queue_and_statuses(q.filter, q.catalog) {
        let counts = QueueCounts::read(conn, queue, &statuses).await?;
        let page = list_with(conn, q, Some(&counts)).await?;
        return Ok((page, counts.total()));
    }
    match spare() {
        Some(mut spare) => {
            let (page, total) = tokio::join!(list(conn, q), count_matches(&mut spare, q));
            Ok((page?, total?))
        }
        None => {
            let page = list(conn, q).await?;
            Ok((page, count_matches(conn, q).await?))
        }
    }
}

pub async fn list(conn: &mut Conn, q: &ListQuery<'_>) -> Result<TicketPage> {
    list_with(conn, q, None).await
}

async fn list_with(
    conn: &mut Conn,
    q: &ListQuery<'_>,
    known: Option<&QueueCounts>,
) -> Result<TicketPage> {
    let backend = backend(conn);
    let order = if q.sort.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let key = sort_expr(q.sort, q.filter, backend);
    // The page's ids first, from indexes where they serve, then only those rows.
    let ranked = |condition: Condition, with_key: bool| {
        let mut page = Query::select();
        page.column(("tickets", "id"))
            .from("tickets")
            .cond_where(condition);
        if with_key {
            page.expr_as(key.clone(), "sort_key");
        }
        // A keyset cursor cannot continue a relevance order (`Cursor::fits` refuses it
        // at the edge).
        if let Some(Cursor::After { value, id }) = q.after
            && q.sort.key != SortKey::Relevance
        {
            let id_col = Expr::col(("tickets", "id"));
            let (beyond, id_beyond) = if q.sort.descending {
                (key.clone().lt(value), id_col.lt(id))
            } else {
                (key.clone().gt(value), id_col.gt(id))
            };
            page.cond_where(
                Condition::any()
                    .add(beyond)
                    .add(Condition::all().add(key.clone().eq(value)).add(id_beyond)),
            );
        }
        page.order_by_expr(key.clone(), order.clone())
            .order_by(("tickets", "id"), order.clone())
            .limit(q.limit + 1);
        page
    };
    let condition = |filter: &Node| crate::query::condition(filter, backend, q.now, q.catalog);
    // Each status's first page from its own stretch of a (…, status, key) index, then
    // the first of those: a few hundred index entries where one `status IN (…)` scan
    // reads every match (15,000 open tickets of a large queue) to sort them.
    let split = match q.after {
        Some(Cursor::Offset(_)) => None,
        _ => split_by_status(q, backend),
    };
    let branches = match split {
        Some((queue, branches)) => Some(match known {
            Some(counts) if counts.queue == queue => counts.stocked(branches),
            _ => {
                let statuses: Vec<i64> = branches.iter().map(|(status, _)| *status).collect();
                QueueCounts::read(conn, queue, &statuses)
                    .await?
                    .stocked(branches)
            }
        }),
        None => None,
    };
    let mut offset = 0;
    let page = match q.after {
        // Relevance pages by position; so do dialects whose clients ask for page N.
        Some(Cursor::Offset(n)) => {
            offset = n;
            let mut page = ranked(condition(q.filter), false);
            page.offset(n);
            page
        }
        _ => match branches.as_deref() {
            Some([(_, only)]) => ranked(condition(only), false),
            Some([first, rest @ ..]) => {
                let ranked_branch = |branch: &Node| {
                    let mut ranked_branch = Query::select();
                    ranked_branch
                        .columns(["id", "sort_key"])
                        .from_subquery(ranked(condition(branch), true), "branch");
                    ranked_branch
                };
                let mut merged = ranked_branch(&first.1);
                for (_, branch) in rest {
                    merged.union(UnionType::All, ranked_branch(branch));
                }
                merged
                    .order_by("sort_key", order.clone())
                    .order_by("id", order.clone())
                    .limit(q.limit + 1);
                let mut page = Query::select();
                page.column("id").from_subquery(merged, "merged");
                page
            }
            _ => ranked(condition(q.filter), false),
        },
    };
    let mut select = select();
    select
        .and_where(Expr::col(("tickets", "id")).in_subquery(page))
        .order_by_expr(key, order.clone())
        .order_by(("tickets", "id"), order);
    let rows: Vec<TicketRow> = if branches.is_some() {
        crate::db::fetch_all_same_plan(conn, &select).await?
    } else {
        fetch_all(conn, &select).await?
    };
    let mut items = rows
        .into_iter()
        .map(TicketRow::into_ticket)
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = if items.len() as u64 > q.limit {
        items.truncate(q.limit as usize);
        if q.sort.key == SortKey::Relevance {
            Some(Cursor::Offset(offset + q.limit))
        } else {
            let ranks = if q.sort.key == SortKey::Priority {
                crate::catalog::priorities(conn)
                    .await?
                    .into_iter()
                    .map(|p| (p.id, i64::from(p.urgency_rank)))
                    .collect()
            } else {
                HashMap::new()
            };
            items.last().map(|t| Cursor::After {
                value: sort_value(q.sort, t, &ranks),
                id: t.id.0,
            })
        }
    } else {
        None
    };
    Ok(TicketPage { items, next_cursor })
}

/// The category values (level 1 to 4) used on the most recent 10,000 tickets, sorted
/// (HaloPSA's category list; bounded so that it stays cheap on a large desk).
pub async fn categories_in_use(conn: &mut Conn) -> Result<Vec<(i64, String)>> {
    const SQL: &str = "WITH recent AS (SELECT category_1, category_2, category_3, category_4 FROM tickets ORDER BY id DESC LIMIT 10000) \
        SELECT DISTINCT level, value FROM ( \
        SELECT CAST(1 AS BIGINT) AS level, category_1 AS value FROM recent WHERE category_1 IS NOT NULL UNION ALL \
        SELECT 2, category_2 FROM recent WHERE category_2 IS NOT NULL UNION ALL \
        SELECT 3, category_3 FROM recent WHERE category_3 IS NOT NULL UNION ALL \
        SELECT 4, category_4 FROM recent WHERE category_4 IS NOT NULL) used ORDER BY level, value";
    #[derive(FromRow)]
    struct Used {
        level: i64,
        value: String,
    }
    let rows: Vec<Used> = crate::db::fetch_all_sql(conn, SQL).await?;
    Ok(rows.into_iter().map(|u| (u.level, u.value)).collect())
}

/// The custom field names used on the most recent 10,000 tickets, sorted (Autotask's
/// user-defined field list; bounded so that it stays cheap on a large desk).
pub async fn custom_field_names(conn: &mut Conn) -> Result<Vec<String>> {
    #[derive(FromRow)]
    struct Name {
        name: String,
    }
    let sql = match crate::db::backend(conn) {
        crate::db::Backend::Sqlite => {
            "SELECT DISTINCT j.key AS name FROM (SELECT custom_fields FROM tickets ORDER BY id DESC LIMIT 10000) t, json_each(t.custom_fields) j ORDER BY 1"
        }
        crate::db::Backend::Postgres => {
            "SELECT DISTINCT jsonb_object_keys(t.custom_fields::jsonb) AS name FROM (SELECT custom_fields FROM tickets ORDER BY id DESC LIMIT 10000) t ORDER BY 1"
        }
    };
    let rows: Vec<Name> = crate::db::fetch_all_sql(conn, sql).await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixpoint_core::catalog::default_catalog;
    use fixpoint_core::filter::TicketFilter;

    fn split(filter: &TicketFilter, key: SortKey, backend: Backend) -> Option<usize> {
        let catalog = default_catalog();
        let node = filter.to_query();
        split_by_status(
            &ListQuery {
                filter: &node,
                catalog: &catalog,
                now: Timestamp::UNIX_EPOCH,
                sort: Sort {
                    key,
                    descending: false,
                },
                limit: 50,
                after: None,
            },
            backend,
        )
        .map(|(_, branches)| branches.len())
    }

    /// `GET /tickets?queue_id=1&open=true`, the technician's queue view.
    fn queue_view() -> TicketFilter {
        TicketFilter {
            queue_ids: vec![QueueId(1)],
            open: Some(true),
            ..TicketFilter::default()
        }
    }

    #[test]
    fn a_queues_open_tickets_by_due_date_are_read_status_by_status_on_postgres() {
        let queue_view = queue_view();
        let open_statuses = default_catalog()
            .statuses
            .iter()
            .filter(|s| s.category.is_open())
            .count();
        assert_eq!(
            split(&queue_view, SortKey::DueAt, Backend::Postgres),
            Some(open_statuses)
        );
        assert_eq!(split(&queue_view, SortKey::DueAt, Backend::Sqlite), None);
    }

    #[test]
    fn only_a_queue_view_is_counted_from_the_queue_counts() {
        let catalog = default_catalog();
        let counted = |filter: &TicketFilter| {
            crate::query::queue_and_statuses(&filter.to_query(), &catalog)
                .map(|(queue, statuses)| (queue, statuses.len()))
        };
        let open_statuses = catalog
            .statuses
            .iter()
            .filter(|s| s.category.is_open())
            .count();
        assert_eq!(counted(&queue_view()), Some((1, open_statuses)));
        let listed = TicketFilter {
            queue_ids: vec![QueueId(1)],
            status_ids: vec![StatusId(1), StatusId(2)],
            ..TicketFilter::default()
        };
        assert_eq!(counted(&listed), Some((1, 2)));
        let a_queues_all = TicketFilter {
            queue_ids: vec![QueueId(1)],
            ..TicketFilter::default()
        };
        assert_eq!(counted(&a_queues_all), None);
        let two_queues = TicketFilter {
            queue_ids: vec![QueueId(1), QueueId(2)],
            ..queue_view()
        };
        assert_eq!(counted(&two_queues), None);
        let and_a_company = TicketFilter {
            company_ids: vec![CompanyId(5)],
            ..queue_view()
        };
        assert_eq!(counted(&and_a_company), None);
    }

    #[test]
    fn pages_no_index_orders_per_status_stay_one_query() {
        let queue_view = queue_view();
        assert_eq!(
            split(&queue_view, SortKey::CreatedAt, Backend::Postgres),
            None
        );
        let two_queues = TicketFilter {
            queue_ids: vec![QueueId(1), QueueId(2)],
            ..queue_view.clone()
        };
        assert_eq!(split(&two_queues, SortKey::DueAt, Backend::Postgres), None);
        let a_companys = TicketFilter {
            company_ids: vec![CompanyId(5)],
            open: Some(true),
            ..TicketFilter::default()
        };
        assert_eq!(split(&a_companys, SortKey::DueAt, Backend::Postgres), None);
    }
}
