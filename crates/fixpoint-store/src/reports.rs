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
    #[derive(FromRow)]
    struct Totals {
        tickets: i64,
        open: Option<i64>,
        resolved: i64,
        wall: Option<f64>,
        business: Option<f64>,
        response_kept: Option<i64>,
        response_counted: i64,
        resolution_kept: Option<i64>,
        resolution_counted: i64,
    }
    let now_us = micros(now);
    let totals: Totals = fetch_optional(
        conn,
        tickets_in(scope)
            .expr_as(Expr::col(("t", "id")).count(), "tickets")
            .expr_as(
                Expr::cust(
                    "SUM(CASE WHEN t.status_id NOT IN \
                     (SELECT id FROM statuses WHERE category IN ('resolved', 'closed')) THEN 1 ELSE 0 END)",
                ),
                "open",
            )
            .expr_as(Expr::col(("t", "resolved_at")).count(), "resolved")
            .expr_as(Expr::cust("AVG(CAST(t.resolved_at - t.created_at AS REAL)) / 1000000.0"), "wall")
            .expr_as(Expr::cust("AVG(CAST(t.resolution_business_seconds AS REAL))"), "business")
            .expr_as(
                Expr::cust_with_values(
                    "SUM(CASE WHEN t.response_due_at IS NULL THEN 0 \
                     WHEN t.first_response_at IS NOT NULL THEN (CASE WHEN t.first_response_at <= t.response_due_at THEN 1 ELSE 0 END) \
                     WHEN t.response_due_at > ? THEN 1 ELSE 0 END)",
                    [now_us],
                ),
                "response_kept",
            )
            .expr_as(Expr::col(("t", "response_due_at")).count(), "response_counted")
            .expr_as(
                Expr::cust_with_values(
                    "SUM(CASE WHEN t.resolution_due_at IS NULL THEN 0 \
                     WHEN t.resolved_at IS NOT NULL THEN (CASE WHEN t.resolved_at <= t.resolution_due_at THEN 1 ELSE 0 END) \
                     WHEN t.resolution_due_at > ? THEN 1 ELSE 0 END)",
                    [now_us],
                ),
                "resolution_kept",
            )
            .expr_as(Expr::col(("t", "resolution_due_at")).count(), "resolution_counted"),
    )
    .await?
    .unwrap_or(Totals {
        tickets: 0,
        open: None,
        resolved: 0,
        wall: None,
        business: None,
        response_kept: None,
        response_counted: 0,
        resolution_kept: None,
        resolution_counted: 0,
    });

    let wall_median = median(
        conn,
        scope,
        "(t.resolved_at - t.created_at) / 1000000.0",
        "t.resolved_at IS NOT NULL",
        totals.resolved,
    )
    .await?;
    let business_count = totals.business.map_or(0, |_| totals.resolved);
    let business_median = median(
        conn,
        scope,
        "CAST(t.resolution_business_seconds AS REAL)",
        "t.resolution_business_seconds IS NOT NULL",
        business_count,
    )
    .await?;

    #[derive(FromRow)]
    struct Count {
        key: i64,
        count: i64,
    }
    let group = |column: &'static str| {
        tickets_in(scope)
            .expr_as(Expr::col(("t", column)), "key")
            .expr_as(Expr::col(("t", "id")).count(), "count")
            .group_by_col(("t", column))
            .order_by(("t", column), Order::Asc)
            .to_owned()
    };
    let by_status: Vec<Count> = fetch_all(conn, &group("status_id")).await?;
    let by_priority: Vec<Count> = fetch_all(conn, &group("priority_id")).await?;
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
                Expr::cust("SUM(CASE WHEN te.billable THEN te.minutes ELSE 0 END)"),
                "billable",
            )
            .expr_as(
                Expr::cust("SUM(CASE WHEN te.billable THEN 0 ELSE te.minutes END)"),
                "non_billable",
            ),
    )
    .await?;
    let (billable, non_billable) = minutes.map_or((0, 0), |m| {
        (m.billable.unwrap_or(0), m.non_billable.unwrap_or(0))
    });

    Ok(Aggregates {
        tickets: totals.tickets,
        open: totals.open.unwrap_or(0),
        resolved: totals.resolved,
        resolution_hours: TimeStats {
            average: totals.wall.map(hours),
            median: wall_median.map(hours),
        },
        resolution_business_hours: TimeStats {
            average: totals.business.map(hours),
            median: business_median.map(hours),
        },
        sla: Compliance {
            first_response_percent: percent(
                totals.response_kept.unwrap_or(0),
                totals.response_counted,
            ),
            first_response_counted: totals.response_counted,
            resolution_percent: percent(
                totals.resolution_kept.unwrap_or(0),
                totals.resolution_counted,
            ),
            resolution_counted: totals.resolution_counted,
        },
        by_status: by_status
            .into_iter()
            .map(|c| (StatusId(c.key), c.count))
            .collect(),
        by_priority: by_priority
            .into_iter()
            .map(|c| (PriorityId(c.key), c.count))
            .collect(),
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

/// The median of an expression over `count` rows, by offset into the sorted values
/// (the mean of the two middle values when the count is even).
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
        v: f64,
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
    Ok((!rows.is_empty()).then(|| rows.iter().map(|r| r.v).sum::<f64>() / rows.len() as f64))
}
