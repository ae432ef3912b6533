//! Service metrics (seed 002): counts, resolution times, SLA compliance, distributions.
//! The store aggregates in SQL; this module holds the shapes and the arithmetic.

use jiff::Timestamp;
use serde::Serialize;

use crate::ids::{CompanyId, PriorityId, QueueId, ResourceId, StatusId};

/// Which tickets a report covers: created in `[from, to)`, optionally narrowed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportScope {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub company_id: Option<CompanyId>,
    pub queue_id: Option<QueueId>,
    pub resource_id: Option<ResourceId>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketReport {
    pub tickets: i64,
    pub open: i64,
    pub resolved: i64,
    pub resolution_hours: TimeStats,
    /// Business hours on each ticket's SLA calendar, paused time excluded.
    pub resolution_business_hours: TimeStats,
    pub sla: Compliance,
    pub by_status: Vec<Bucket>,
    pub by_priority: Vec<Bucket>,
    pub escalations_by_level: Vec<LevelCount>,
    pub billable_hours: f64,
    pub non_billable_hours: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeStats {
    pub average: Option<f64>,
    pub median: Option<f64>,
}

/// The seed's definition: a target is kept when it was met by its deadline, or is
/// still open and not yet due. Tickets paused with no running deadline are not counted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Compliance {
    pub first_response_percent: Option<f64>,
    pub first_response_counted: i64,
    pub resolution_percent: Option<f64>,
    pub resolution_counted: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bucket {
    pub id: i64,
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelCount {
    pub level: i64,
    pub count: i64,
}

/// Status and priority ids are mapped to names by the caller.
pub type StatusCounts = Vec<(StatusId, i64)>;
pub type PriorityCounts = Vec<(PriorityId, i64)>;

/// A percentage with one decimal, or none when nothing was counted.
pub fn percent(kept: i64, counted: i64) -> Option<f64> {
    (counted > 0).then(|| (kept as f64 * 1000.0 / counted as f64).round() / 10.0)
}

/// Seconds as hours with two decimals.
pub fn hours(seconds: f64) -> f64 {
    (seconds / 36.0).round() / 100.0
}

/// Minutes as hours with two decimals.
pub fn minutes_as_hours(minutes: i64) -> f64 {
    hours(minutes as f64 * 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        assert_eq!(percent(2, 3), Some(66.7));
        assert_eq!(percent(0, 0), None);
        assert_eq!(hours(5400.0), 1.5);
        assert_eq!(minutes_as_hours(20), 0.33);
    }
}
