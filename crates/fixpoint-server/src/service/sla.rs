//! Calendars and SLA policies: admins define them, everyone reads them.

use fixpoint_core::calendar::{Calendar, CalendarSpec};
use fixpoint_core::error::Violations;
use fixpoint_core::ids::{CalendarId, SlaPolicyId};
use fixpoint_core::sla::{AT_RISK_PERCENT_DEFAULT, SlaPolicy, SlaTarget};
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
    let mut v = Violations::default();
    v.required_text("name", &new.name, 100);
    v.into_result()?;
    let calendar = Calendar::new(new.spec.clone())
        .map_err(|e| DomainError::invalid("spec", ErrorCode::InvalidField, e.to_string()))?;
    let mut tx = store.write().await?;
    if rows::calendars(&mut tx)
        .await?
        .iter()
        .any(|c| c.name.eq_ignore_ascii_case(&new.name))
    {
        return Err(DomainError::Conflict {
            code: ErrorCode::AlreadyExists,
            message: format!("a calendar named '{}' exists", new.name),
        }
        .into());
    }
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
    let mut v = Violations::default();
    v.required_text("name", &new.name, 100);
    if !calendars.iter().any(|c| c.id == new.calendar_id) {
        v.push(
            "calendar_id",
            ErrorCode::UnknownReference,
            format!("calendar {} does not exist", new.calendar_id),
        );
    }
    let at_risk = new.at_risk_percent.unwrap_or(AT_RISK_PERCENT_DEFAULT);
    if !(0..=100).contains(&at_risk) {
        v.push(
            "at_risk_percent",
            ErrorCode::OutOfRange,
            "at_risk_percent is 0 to 100",
        );
    }
    for (i, t) in new.targets.iter().enumerate() {
        if !priorities.iter().any(|p| p.id == t.priority_id) {
            v.push(
                format!("targets[{i}].priority_id"),
                ErrorCode::UnknownReference,
                format!("priority {} does not exist", t.priority_id),
            );
        }
        if new.targets[..i]
            .iter()
            .any(|o| o.priority_id == t.priority_id)
        {
            v.push(
                format!("targets[{i}].priority_id"),
                ErrorCode::InvalidField,
                format!("priority {} has two targets", t.priority_id),
            );
        }
        for (field, minutes) in [
            ("first_response_minutes", t.first_response_minutes),
            ("resolution_minutes", t.resolution_minutes),
        ] {
            if minutes.is_some_and(|m| !(1..=365 * 24 * 60).contains(&m)) {
                v.push(
                    format!("targets[{i}].{field}"),
                    ErrorCode::OutOfRange,
                    "a target is 1 minute to a year",
                );
            }
        }
    }
    v.into_result()?;
    if existing
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case(&new.name))
    {
        return Err(DomainError::Conflict {
            code: ErrorCode::AlreadyExists,
            message: format!("an SLA policy named '{}' exists", new.name),
        }
        .into());
    }
    let mut policy = SlaPolicy {
        id: SlaPolicyId(0),
        name: new.name,
        calendar_id: new.calendar_id,
        is_default: new.is_default,
        at_risk_percent: at_risk,
        targets: new.targets,
    };
    policy.id = rows::insert_policy(&mut tx, &policy).await?;
    Store::commit(tx).await?;
    Ok(policy)
}
