//! Report aggregates, computed by SQL over the whole range (nothing is loaded per ticket).

use fixpoint_core::ids::{PriorityId, StatusId};
use fixpoint_core::metrics::{
    Compliance, LevelCount, PriorityCounts, ReportScope, StatusCounts, TimeStats, hours,
    minutes_as_hours, percent,
};
use jiff::Timestamp;
use sea_query::{Condition, Expr, ExprTrait, Order, Query, SelectStatement};
use sqlx::FromRow;

use crate::db::{Conn, Result, fetch_all, fetch_optional, micros};

/// Everything but the names of statuses and priorities.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregates {
    pub tickets: i64,
    pub open: i64,
    pub resolved: i64,
    pub resolution_hours: TimeStats,
    pub resolution_business_hours: TimeStats,
    pub sla: Compliance,
    pub by_status: StatusCounts,
    pub by_priority: PriorityCounts,
    pub escalations_by_level: Vec<LevelCount>,
    pub billable_hours: f64,
    pub non_billable_hours: f64,
}

fn scope_condition(s: &ReportScope) -> Condition {
    let col = |c: &'static str| Expr::col(("t", c));
    let mut c = Condition::all();
    if let Some(from) = s.from {
        c = c.add(col("created_at").gte(micros(from)));
    }
    if let Some(to) = s.to {
        c = c.add(col("created_at").lt(micros(to)));
    }
    if let Some(company) = s.company_id {
        c = c.add(col("company_id").eq(company.0));
    }
    if let Some(queue) = s.queue_id {
        c = c.add(col("queue_id").eq(queue.0));
    }
    if let Some(resource) = s.resource_id {
        c = c.add(col("assigned_resource_id").eq(resource.0));
    }
    c
}

fn tickets_in(scope: &ReportScope) -> SelectStatement {
    Query::select()
        .from_as("tickets", "t")
        .cond_where(scope_condition(scope))
        .to_owned()
}

pub async fn aggregates(
    conn: &mut Conn,
    scope: &ReportScope,
    now: Timestamp,
) -> Result<Aggregates> {
    // One pass over the report index, grouped by status and priority: every count,
    // sum and distribution comes out of it; the totals are the sums of the groups.
    #[derive(FromRow)]
    struct Group {
        status_id: i64,
        priority_id: i64,
        tickets: i64,
        open: i64,
        resolved: i64,
        wall_sum: Option<f64>,
        business_sum: Option<f64>,
        business_count: i64,
        response_kept: Option<i64>,
        response_counted: i64,
        resolution_kept: Option<i64>,
        resolution_counted: i64,
    }
    // An instant we computed, not user input: safe to write into the SQL as a number.
    let now_us = micros(now);
    let groups: Vec<Group> = fetch_all(
        conn,
        tickets_in(scope)
            .expr_as(Expr::col(("t", "status_id")), "status_id")
            .expr_as(Expr::col(("t", "priority_id")), "priority_id")
            .expr_as(Expr::col(("t", "created_at")).count(), "tickets")
            .expr_as(
                Expr::cust(
                    "CASE WHEN t.status_id IN (SELECT id FROM statuses WHERE category IN ('resolved', 'closed')) \
                     THEN 0 ELSE COUNT(t.created_at) END",
                ),
                "open",
            )
            .expr_as(Expr::col(("t", "resolved_at")).count(), "resolved")
            .expr_as(Expr::cust("SUM(CAST(t.resolved_at - t.created_at AS DOUBLE PRECISION)) / 1000000.0"), "wall_sum")
            .expr_as(Expr::cust("SUM(CAST(t.resolution_business_seconds AS DOUBLE PRECISION))"), "business_sum")
            .expr_as(Expr::col(("t", "resolution_business_seconds")).count(), "business_count")
            .expr_as(
                Expr::cust(format!("SUM(CASE WHEN t.response_due_at IS NULL THEN 0 \
                     WHEN t.first_response_at IS NOT NULL THEN (CASE WHEN t.first_response_at <= t.response_due_at THEN 1 ELSE 0 END) \
                     WHEN t.response_due_at > {now_us} THEN 1 ELSE 0 END)")),
                "response_kept",
            )
            .expr_as(Expr::col(("t", "response_due_at")).count(), "response_counted")
            .expr_as(
                Expr::cust(format!("SUM(CASE WHEN t.resolution_due_at IS NULL THEN 0 \
                     WHEN t.resolved_at IS NOT NULL THEN (CASE WHEN t.resolved_at <= t.resolution_due_at THEN 1 ELSE 0 END) \
                     WHEN t.resolution_due_at > {now_us} THEN 1 ELSE 0 END)")),
                "resolution_kept",
            )
            .expr_as(Expr::col(("t", "resolution_due_at")).count(), "resolution_counted")
            .group_by_col(("t", "status_id"))
            .group_by_col(("t", "priority_id")),
    )
    .await?;
    let sum = |f: fn(&Group) -> i64| groups.iter().map(f).sum::<i64>();
    let fsum = |f: fn(&Group) -> Option<f64>| groups.iter().filter_map(f).sum::<f64>();
    let (tickets, resolved, business_count) = (
        sum(|g| g.tickets),
        sum(|g| g.resolved),
        sum(|g| g.business_count),
    );
    let mut by_status: StatusCounts = Vec::new();
    let mut by_priority: PriorityCounts = Vec::new();
    for g in &groups {
        match by_status.iter_mut().find(|(id, _)| id.0 == g.status_id) {
            Some((_, n)) => *n += g.tickets,
            None => by_status.push((StatusId(g.status_id), g.tickets)),
        }
        match by_priority.iter_mut().find(|(id, _)| id.0 == g.priority_id) {
            Some((_, n)) => *n += g.tickets,
            None => by_priority.push((PriorityId(g.priority_id), g.tickets)),
        }
    }
    by_status.sort_by_key(|(id, _)| *id);
    by_priority.sort_by_key(|(id, _)| *id);
    let average = |total: f64, n: i64| (n > 0).then(|| total / n as f64);

    // Ordered by the bare expressions, so the partial indexes serve the medians.
    let wall_median = median(
        conn,
        scope,
        "(t.resolved_at - t.created_at)",
        "t.resolved_at IS NOT NULL",
        resolved,
    )
    .await?
    .map(|micros| micros / 1_000_000.0);
    let business_median = median(
        conn,
        scope,
        "t.resolution_business_seconds",
        "t.resolution_business_seconds IS NOT NULL",
        business_count,
    )
    .await?;

    #[derive(FromRow)]
    struct Count {
        key: i64,
        count: i64,
    }
    let levels: Vec<Count> = fetch_all(
        conn,
        tickets_in(scope)
            .join_as(
                sea_query::JoinType::InnerJoin,
                "escalations",
                "e",
                Expr::col(("e", "ticket_id")).equals(("t", "id")),
            )
            .expr_as(Expr::col(("e", "level")), "key")
            .expr_as(Expr::col(("e", "id")).count(), "count")
            .group_by_col(("e", "level"))
            .order_by(("e", "level"), Order::Asc),
    )
    .await?;

    #[derive(FromRow)]
    struct Minutes {
        billable: Option<i64>,
        non_billable: Option<i64>,
    }
    let minutes: Option<Minutes> = fetch_optional(
        conn,
        tickets_in(scope)
            .join_as(
                sea_query::JoinType::InnerJoin,
                "time_entries",
                "te",
                Expr::col(("te", "ticket_id")).equals(("t", "id")),
            )
            .expr_as(
                Expr::cust("CAST(SUM(CASE WHEN te.billable THEN te.minutes ELSE 0 END) AS BIGINT)"),
                "billable",
            )
            .expr_as(
                Expr::cust("CAST(SUM(CASE WHEN te.billable THEN 0 ELSE te.minutes END) AS BIGINT)"),
                "non_billable",
            ),
    )
    .await?;
    let (billable, non_billable) = minutes.map_or((0, 0), |m| {
        (m.billable.unwrap_or(0), m.non_billable.unwrap_or(0))
    });

    Ok(Aggregates {
        tickets,
        open: sum(|g| g.open),
        resolved,
        resolution_hours: TimeStats {
            average: average(fsum(|g| g.wall_sum), resolved).map(hours),
            median: wall_median.map(hours),
        },
        resolution_business_hours: TimeStats {
            average: average(fsum(|g| g.business_sum), business_count).map(hours),
            median: business_median.map(hours),
        },
        sla: Compliance {
            first_response_percent: percent(
                sum(|g| g.response_kept.unwrap_or(0)),
                sum(|g| g.response_counted),
            ),
            first_response_counted: sum(|g| g.response_counted),
            resolution_percent: percent(
                sum(|g| g.resolution_kept.unwrap_or(0)),
                sum(|g| g.resolution_counted),
            ),
            resolution_counted: sum(|g| g.resolution_counted),
        },
        by_status,
        by_priority,
        escalations_by_level: levels
            .into_iter()
            .map(|c| LevelCount {
                level: c.key,
                count: c.count,
            })
            .collect(),
        billable_hours: minutes_as_hours(billable),
        non_billable_hours: minutes_as_hours(non_billable),
    })
}

/// The median of an integer expression over `count` rows, by offset into its index
/// order (the mean of the two middle values when the count is even).
async fn median(
    conn: &mut Conn,
    scope: &ReportScope,
    value: &str,
    present: &str,
    count: i64,
) -> Result<Option<f64>> {
    if count == 0 {
        return Ok(None);
    }
    #[derive(FromRow)]
    struct Value {
        v: i64,
    }
    let take = if count % 2 == 0 { 2 } else { 1 };
    let rows: Vec<Value> = fetch_all(
        conn,
        tickets_in(scope)
            .expr_as(Expr::cust(value.to_owned()), "v")
            .and_where(Expr::cust(present.to_owned()))
            .order_by_expr(Expr::cust(value.to_owned()), Order::Asc)
            .limit(take)
            .offset(((count - 1) / 2) as u64),
    )
    .await?;
    Ok(
        (!rows.is_empty())
            .then(|| rows.iter().map(|r| r.v as f64).sum::<f64>() / rows.len() as f64),
    )
}
