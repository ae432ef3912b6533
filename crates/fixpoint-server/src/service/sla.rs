//! Calendars and SLA policies: admins define them, everyone reads them.

use fixpoint_core::calendar::{Calendar, CalendarSpec};
use fixpoint_core::catalog::{check_catalogue_name, check_name_free};
use fixpoint_core::ids::{CalendarId, SlaPolicyId};
use fixpoint_core::sla::{AT_RISK_PERCENT_DEFAULT, SlaPolicy, SlaTarget, check_policy};
use fixpoint_core::{DomainError, ErrorCode};
use fixpoint_store::sla as rows;
use fixpoint_store::{Store, catalog};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ServiceResult;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarView {
    pub id: CalendarId,
    pub name: String,
    /// Time zone, weekly openings (Monday first, `HH:MM`), holidays.
    #[schema(value_type = Object)]
    pub spec: CalendarSpec,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCalendar {
    pub name: String,
    /// `{"time_zone": "America/New_York", "week": [[{"start": "09:00", "end": "17:00"}], …7 days], "holidays": [{"date": "2024-12-25"}]}`
    #[schema(value_type = Object)]
    pub spec: CalendarSpec,
}

pub async fn calendars(store: &Store) -> ServiceResult<Vec<CalendarView>> {
    let mut conn = store.read().await?;
    let rows = rows::calendars(&mut conn).await?;
    Ok(rows
        .into_iter()
        .map(|c| CalendarView {
            id: c.id,
            name: c.name,
            spec: c.calendar.spec().clone(),
        })
        .collect())
}

pub async fn create_calendar(store: &Store, new: NewCalendar) -> ServiceResult<CalendarView> {
    check_catalogue_name(&new.name)?;
    let calendar = Calendar::new(new.spec.clone())
        .map_err(|e| DomainError::invalid("spec", ErrorCode::InvalidField, e.to_string()))?;
    let mut tx = store.write().await?;
    let calendars = rows::calendars(&mut tx).await?;
    check_name_free(
        "a calendar",
        &new.name,
        calendars.iter().map(|c| c.name.as_str()),
    )?;
    let id = rows::insert_calendar(&mut tx, &new.name, calendar.spec()).await?;
    Store::commit(tx).await?;
    Ok(CalendarView {
        id,
        name: new.name,
        spec: calendar.spec().clone(),
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPolicy {
    pub name: String,
    pub calendar_id: CalendarId,
    #[serde(default)]
    pub is_default: bool,
    /// Default 20.
    pub at_risk_percent: Option<i64>,
    pub targets: Vec<SlaTarget>,
}

pub async fn policies(store: &Store) -> ServiceResult<Vec<SlaPolicy>> {
    let mut conn = store.read().await?;
    Ok(rows::policies(&mut conn).await?)
}

pub async fn create_policy(store: &Store, new: NewPolicy) -> ServiceResult<SlaPolicy> {
    let mut tx = store.write().await?;
    let calendars = rows::calendars(&mut tx).await?;
    let priorities = catalog::priorities(&mut tx).await?;
    let existing = rows::policies(&mut tx).await?;
    let mut policy = SlaPolicy {
        id: SlaPolicyId(0),
        name: new.name,
        calendar_id: new.calendar_id,
        is_default: new.is_default,
        at_risk_percent: new.at_risk_percent.unwrap_or(AT_RISK_PERCENT_DEFAULT),
        targets: new.targets,
    };
    check_policy(
        &policy,
        calendars.iter().any(|c| c.id == policy.calendar_id),
        &priorities,
    )?;
    check_name_free(
        "an SLA policy",
        &policy.name,
        existing.iter().map(|p| p.name.as_str()),
    )?;
    policy.id = rows::insert_policy(&mut tx, &policy).await?;
    Store::commit(tx).await?;
    Ok(policy)
}
