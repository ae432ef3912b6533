//! Escalation rules, the tickets a sweep looks at, recorded escalations and the outbox.

use fixpoint_core::escalation::{Candidate, Crossed, EscalationRule, RuleKind, default_rules};
use fixpoint_core::ids::{CompanyId, PriorityId, QueueId, StatusId, TicketId};
use jiff::{SignedDuration, Timestamp};
use sea_query::{Condition, Expr, ExprTrait, OnConflict, Order, Query};
use serde::Serialize;
use sqlx::FromRow;

use crate::db::{
    Conn, Result, Writes, enum_text, execute, fetch_all, fetch_scalar, instant, micros,
    opt_instant, parse_enum,
};

const RULE: &[&str] = &[
    "id",
    "name",
    "kind",
    "level",
    "threshold_minutes",
    "status_id",
    "priority_id",
    "active",
];

#[derive(FromRow)]
struct RuleRow {
    id: i64,
    name: String,
    kind: String,
    level: i64,
    threshold_minutes: i64,
    status_id: Option<i64>,
    priority_id: Option<i64>,
    active: bool,
}

pub async fn seed_defaults(conn: &mut Conn) -> Result<()> {
    let count = fetch_scalar(
        conn,
        Query::select()
            .expr(Expr::col("id").count())
            .from("escalation_rules"),
    )
    .await?;
    if count > 0 {
        return Ok(());
    }
    for r in default_rules() {
        execute(
            conn,
            Query::insert()
                .into_table("escalation_rules")
                .columns(RULE.iter().copied())
                .values_panic([
                    r.id.into(),
                    r.name.into(),
                    enum_text(r.kind).into(),
                    r.level.into(),
                    r.threshold_minutes.into(),
                    r.status_id.map(|s| s.0).into(),
                    r.priority_id.map(|p| p.0).into(),
                    r.active.into(),
                ]),
        )
        .await?;
    }
    crate::db::sync_identity(conn, "escalation_rules").await?;
    Ok(())
}

pub async fn rules(conn: &mut Conn) -> Result<Vec<EscalationRule>> {
    let rows: Vec<RuleRow> = fetch_all(
        conn,
        Query::select()
            .columns(RULE.iter().copied())
            .from("escalation_rules")
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(EscalationRule {
                id: r.id,
                name: r.name,
                kind: parse_enum::<RuleKind>(&r.kind)?,
                level: r.level,
                threshold_minutes: r.threshold_minutes,
                status_id: r.status_id.map(StatusId),
                priority_id: r.priority_id.map(PriorityId),
                active: r.active,
            })
        })
        .collect()
}

const CANDIDATE: &[&str] = &[
    "id",
    "version",
    "status_id",
    "priority_id",
    "assigned_resource_id",
    "created_at",
    "last_activity_at",
    "first_response_at",
    "response_due_at",
    "resolved_at",
    "resolution_due_at",
];

#[derive(FromRow)]
struct CandidateRow {
    id: i64,
    version: i64,
    status_id: i64,
    priority_id: i64,
    assigned_resource_id: Option<i64>,
    created_at: i64,
    last_activity_at: i64,
    first_response_at: Option<i64>,
    response_due_at: Option<i64>,
    resolved_at: Option<i64>,
    resolution_due_at: Option<i64>,
}

/// Open tickets some active rule might have crossed by `now` and that rule is not yet
/// recorded for, found through indexes: unmet deadlines already passed, stale
/// waiting statuses, unassigned urgent tickets.
pub async fn candidates(
    conn: &mut Conn,
    rules: &[EscalationRule],
    now: Timestamp,
) -> Result<Vec<Candidate>> {
    let col = |c: &'static str| Expr::col(("tickets", c));
    let now_us = micros(now);
    // One query per kind of trouble, each answered by its own index, rather than one
    // OR that SQLite would answer with a full scan.
    // Each branch with the rules it serves: a ticket stays a candidate while one of
    // them is not yet recorded for it, so a sweep reads only what may be new.
    let mut branches: Vec<(Condition, Vec<i64>)> = Vec::new();
    let overdue_rules: Vec<i64> = rules
        .iter()
        .filter(|r| r.active && r.kind == RuleKind::SlaOverdue)
        .map(|r| r.id)
        .collect();
    if !overdue_rules.is_empty() {
        branches.push((
            Condition::all()
                .add(col("first_response_at").is_null())
                .add(col("response_due_at").lt(now_us)),
            overdue_rules.clone(),
        ));
        branches.push((
            Condition::all()
                .add(col("resolved_at").is_null())
                .add(col("resolution_due_at").lt(now_us)),
            overdue_rules,
        ));
    }
    for r in rules.iter().filter(|r| r.active) {
        let since = micros(now - SignedDuration::from_mins(r.threshold_minutes));
        match (r.kind, r.status_id, r.priority_id) {
            (RuleKind::StaleWaiting, Some(status), _) => {
                branches.push((
                    Condition::all()
                        .add(col("status_id").eq(status.0))
                        .add(col("last_activity_at").lt(since)),
                    vec![r.id],
                ));
            }
            (RuleKind::CriticalUnassigned, _, Some(priority)) => branches.push((
                Condition::all()
                    .add(col("priority_id").eq(priority.0))
                    .add(col("assigned_resource_id").is_null())
                    .add(col("created_at").lte(since)),
                vec![r.id],
            )),
            _ => {}
        }
    }
    let mut found: std::collections::BTreeMap<i64, CandidateRow> =
        std::collections::BTreeMap::new();
    for (branch, rule_ids) in branches {
        let unrecorded = rule_ids.into_iter().fold(Condition::any(), |any, rule| {
            any.add(Expr::not_exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from("escalations")
                    .and_where(Expr::col(("escalations", "ticket_id")).equals(("tickets", "id")))
                    .and_where(Expr::col(("escalations", "rule_id")).eq(rule))
                    .to_owned(),
            ))
        });
        let closed = Query::select()
            .column("id")
            .from("statuses")
            .and_where(Expr::col("category").is_in(["resolved", "closed"]))
            .to_owned();
        let rows: Vec<CandidateRow> = fetch_all(
            conn,
            Query::select()
                .columns(CANDIDATE.iter().map(|c| ("tickets", *c)))
                .from("tickets")
                .cond_where(branch)
                .cond_where(unrecorded)
                .and_where(col("status_id").not_in_subquery(closed)),
        )
        .await?;
        found.extend(rows.into_iter().map(|r| (r.id, r)));
    }
    let rows = found.into_values();
    rows.map(|r| {
        let response = r.response_due_at.filter(|_| r.first_response_at.is_none());
        let resolution = r.resolution_due_at.filter(|_| r.resolved_at.is_none());
        let overdue_since = [response, resolution]
            .into_iter()
            .flatten()
            .filter(|due| *due < now_us)
            .min();
        Ok(Candidate {
            ticket_id: TicketId(r.id),
            version: r.version,
            status_id: StatusId(r.status_id),
            priority_id: PriorityId(r.priority_id),
            assigned: r.assigned_resource_id.is_some(),
            created_at: instant(r.created_at)?,
            last_activity_at: instant(r.last_activity_at)?,
            overdue_since: opt_instant(overdue_since)?,
        })
    })
    .collect()
}

/// Records crossed rules, a few hundred per statement; returns those not recorded
/// before. The unique (ticket, rule) pair makes this exactly-once across overlapping
/// sweeps: a pair already there is skipped by the database, not by a read first.
pub async fn record_new(
    conn: &mut Conn,
    crossed: &[(TicketId, Crossed)],
    now: Timestamp,
) -> Result<Vec<(TicketId, i64)>> {
    #[derive(FromRow)]
    struct Inserted {
        ticket_id: i64,
        rule_id: i64,
    }
    let mut inserted = Vec::new();
    for chunk in crossed.chunks(500) {
        let mut q = Query::insert();
        q.into_table("escalations").columns([
            "ticket_id",
            "rule_id",
            "level",
            "reason",
            "created_at",
        ]);
        for (ticket, c) in chunk {
            q.values_panic([
                ticket.0.into(),
                c.rule_id.into(),
                c.level.into(),
                c.reason.clone().into(),
                micros(now).into(),
            ]);
        }
        q.on_conflict(
            OnConflict::columns(["ticket_id", "rule_id"])
                .do_nothing()
                .to_owned(),
        )
        .returning(Query::returning().columns(["ticket_id", "rule_id"]));
        let rows: Vec<Inserted> = fetch_all(conn, &q).await?;
        inserted.extend(rows.into_iter().map(|r| (TicketId(r.ticket_id), r.rule_id)));
    }
    Ok(inserted)
}

/// Adds events to the outbox, a few hundred per statement.
pub async fn enqueue_many(
    conn: &mut Conn,
    topic: &str,
    payloads: &[serde_json::Value],
    now: Timestamp,
) -> Result<()> {
    let mut writes = Writes::default();
    enqueue_many_later(&mut writes, topic, payloads, now);
    writes.run(conn).await
}

/// [`enqueue_many`], as writes for the caller to run with its own.
pub fn enqueue_many_later(
    later: &mut Writes,
    topic: &str,
    payloads: &[serde_json::Value],
    now: Timestamp,
) {
    for chunk in payloads.chunks(500) {
        let mut q = Query::insert();
        q.into_table("outbox")
            .columns(["topic", "payload", "created_at"]);
        for p in chunk {
            q.values_panic([topic.into(), p.to_string().into(), micros(now).into()]);
        }
        later.push(q);
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscalationEntry {
    pub id: i64,
    pub ticket_id: i64,
    pub ticket_number: String,
    pub title: String,
    pub company_id: i64,
    pub queue_id: Option<i64>,
    pub rule_id: i64,
    pub level: i64,
    pub reason: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct EscalationFilter {
    pub level: Option<i64>,
    pub queue_id: Option<QueueId>,
    pub company_id: Option<CompanyId>,
    pub limit: u64,
}

/// Escalations of tickets that are still open, newest first.
pub async fn open_escalations(
    conn: &mut Conn,
    f: &EscalationFilter,
) -> Result<Vec<EscalationEntry>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        ticket_id: i64,
        number: String,
        title: String,
        company_id: i64,
        queue_id: Option<i64>,
        rule_id: i64,
        level: i64,
        reason: String,
        created_at: i64,
    }
    let closed = Query::select()
        .column("id")
        .from("statuses")
        .and_where(Expr::col("category").is_in(["resolved", "closed"]))
        .to_owned();
    let mut q = Query::select();
    q.columns([("e", "id"), ("e", "ticket_id")])
        .columns([
            ("t", "number"),
            ("t", "title"),
            ("t", "company_id"),
            ("t", "queue_id"),
        ])
        .columns([
            ("e", "rule_id"),
            ("e", "level"),
            ("e", "reason"),
            ("e", "created_at"),
        ])
        .from_as("escalations", "e")
        .join_as(
            sea_query::JoinType::InnerJoin,
            "tickets",
            "t",
            Expr::col(("t", "id")).equals(("e", "ticket_id")),
        )
        .and_where(Expr::col(("t", "status_id")).not_in_subquery(closed))
        .order_by(("e", "created_at"), Order::Desc)
        .order_by(("e", "id"), Order::Desc)
        .limit(f.limit);
    if let Some(level) = f.level {
        q.and_where(Expr::col(("e", "level")).eq(level));
    }
    if let Some(queue) = f.queue_id {
        q.and_where(Expr::col(("t", "queue_id")).eq(queue.0));
    }
    if let Some(company) = f.company_id {
        q.and_where(Expr::col(("t", "company_id")).eq(company.0));
    }
    let rows: Vec<Row> = fetch_all(conn, &q).await?;
    rows.into_iter()
        .map(|r| {
            Ok(EscalationEntry {
                id: r.id,
                ticket_id: r.ticket_id,
                ticket_number: r.number,
                title: r.title,
                company_id: r.company_id,
                queue_id: r.queue_id,
                rule_id: r.rule_id,
                level: r.level,
                reason: r.reason,
                created_at: instant(r.created_at)?,
            })
        })
        .collect()
}

/// An event waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub id: i64,
    pub topic: String,
    pub payload: String,
}

/// Undelivered events, oldest first.
pub async fn pending_events(conn: &mut Conn, limit: u64) -> Result<Vec<OutboxEvent>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        topic: String,
        payload: String,
    }
    let rows: Vec<Row> = fetch_all(
        conn,
        Query::select()
            .columns(["id", "topic", "payload"])
            .from("outbox")
            .and_where(Expr::col("delivered_at").is_null())
            .order_by("id", Order::Asc)
            .limit(limit),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OutboxEvent {
            id: r.id,
            topic: r.topic,
            payload: r.payload,
        })
        .collect())
}
