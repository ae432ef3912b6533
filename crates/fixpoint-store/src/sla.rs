//! Business calendars and SLA policies.

use fixpoint_core::calendar::{Calendar, CalendarSpec};
use fixpoint_core::ids::{CalendarId, PriorityId, SlaPolicyId};
use fixpoint_core::sla::{AT_RISK_PERCENT_DEFAULT, SlaPolicy, SlaTarget, vendor_defaults};
use sea_query::{Expr, ExprTrait, Order, Query};
use sqlx::FromRow;

use crate::db::{Conn, Result, StoreError, execute, fetch_all, fetch_scalar, insert_id};

/// A calendar row: its name and its parsed definition.
#[derive(Debug, Clone)]
pub struct NamedCalendar {
    pub id: CalendarId,
    pub name: String,
    pub calendar: Calendar,
}

#[derive(FromRow)]
struct CalendarRow {
    id: i64,
    name: String,
    spec: String,
}

pub async fn calendars(conn: &mut Conn) -> Result<Vec<NamedCalendar>> {
    let rows: Vec<CalendarRow> = fetch_all(
        conn,
        Query::select()
            .columns(["id", "name", "spec"])
            .from("calendars")
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            let spec: CalendarSpec = serde_json::from_str(&r.spec)
                .map_err(|e| StoreError::Corrupt(format!("calendar {}: {e}", r.id)))?;
            let calendar = Calendar::new(spec)
                .map_err(|e| StoreError::Corrupt(format!("calendar {}: {e}", r.id)))?;
            Ok(NamedCalendar {
                id: CalendarId(r.id),
                name: r.name,
                calendar,
            })
        })
        .collect()
}

pub async fn insert_calendar(
    conn: &mut Conn,
    name: &str,
    spec: &CalendarSpec,
) -> Result<CalendarId> {
    let json = serde_json::to_string(spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let q = Query::insert()
        .into_table("calendars")
        .columns(["name", "spec"])
        .values_panic([name.into(), json.into()])
        .to_owned();
    insert_id(conn, q).await.map(CalendarId)
}

#[derive(FromRow)]
struct PolicyRow {
    id: i64,
    name: String,
    calendar_id: i64,
    is_default: bool,
    at_risk_percent: i64,
}

#[derive(FromRow)]
struct TargetRow {
    policy_id: i64,
    priority_id: i64,
    first_response_minutes: Option<i64>,
    resolution_plan_minutes: Option<i64>,
    resolution_minutes: Option<i64>,
}

pub async fn policies(conn: &mut Conn) -> Result<Vec<SlaPolicy>> {
    let rows: Vec<PolicyRow> = fetch_all(
        conn,
        Query::select()
            .columns(["id", "name", "calendar_id", "is_default", "at_risk_percent"])
            .from("sla_policies")
            .order_by("id", Order::Asc),
    )
    .await?;
    let targets: Vec<TargetRow> = fetch_all(
        conn,
        Query::select()
            .columns([
                "policy_id",
                "priority_id",
                "first_response_minutes",
                "resolution_plan_minutes",
                "resolution_minutes",
            ])
            .from("sla_targets")
            .order_by("policy_id", Order::Asc)
            .order_by("priority_id", Order::Asc),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|p| SlaPolicy {
            id: SlaPolicyId(p.id),
            name: p.name,
            calendar_id: CalendarId(p.calendar_id),
            is_default: p.is_default,
            at_risk_percent: p.at_risk_percent,
            targets: targets
                .iter()
                .filter(|t| t.policy_id == p.id)
                .map(|t| SlaTarget {
                    priority_id: PriorityId(t.priority_id),
                    first_response_minutes: t.first_response_minutes,
                    resolution_plan_minutes: t.resolution_plan_minutes,
                    resolution_minutes: t.resolution_minutes,
                })
                .collect(),
        })
        .collect())
}

/// Writes a new policy with its targets; a default policy takes over from the old one.
pub async fn insert_policy(conn: &mut Conn, policy: &SlaPolicy) -> Result<SlaPolicyId> {
    if policy.is_default {
        execute(
            conn,
            Query::update()
                .table("sla_policies")
                .value("is_default", false),
        )
        .await?;
    }
    let q = Query::insert()
        .into_table("sla_policies")
        .columns(["name", "calendar_id", "is_default", "at_risk_percent"])
        .values_panic([
            policy.name.clone().into(),
            policy.calendar_id.0.into(),
            policy.is_default.into(),
            policy.at_risk_percent.into(),
        ])
        .to_owned();
    let id = SlaPolicyId(insert_id(conn, q).await?);
    for t in &policy.targets {
        execute(
            conn,
            Query::insert()
                .into_table("sla_targets")
                .columns([
                    "policy_id",
                    "priority_id",
                    "first_response_minutes",
                    "resolution_plan_minutes",
                    "resolution_minutes",
                ])
                .values_panic([
                    id.0.into(),
                    t.priority_id.0.into(),
                    t.first_response_minutes.into(),
                    t.resolution_plan_minutes.into(),
                    t.resolution_minutes.into(),
                ]),
        )
        .await?;
    }
    Ok(id)
}

/// Seeds a business-hours and a 24×7 calendar (UTC; an admin sets the MSP's zone) and
/// the three vendors' default policies, Autotask's as the default.
pub async fn seed_defaults(conn: &mut Conn) -> Result<()> {
    let count = fetch_scalar(
        conn,
        Query::select()
            .expr(Expr::col("id").count())
            .from("sla_policies"),
    )
    .await?;
    if count > 0 {
        return Ok(());
    }
    let office = Calendar::weekdays("UTC", "09:00", "17:00", Vec::new())
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let office =
        insert_calendar(conn, "Business hours (Mon–Fri 09:00–17:00)", office.spec()).await?;
    let always = Calendar::always_open("UTC").map_err(|e| StoreError::Corrupt(e.to_string()))?;
    insert_calendar(conn, "24×7", always.spec()).await?;
    for (i, (name, targets)) in vendor_defaults().into_iter().enumerate() {
        let policy = SlaPolicy {
            id: SlaPolicyId(0),
            name: name.to_owned(),
            calendar_id: office,
            is_default: i == 0,
            at_risk_percent: AT_RISK_PERCENT_DEFAULT,
            targets,
        };
        insert_policy(conn, &policy).await?;
    }
    Ok(())
}
