//! Reports: the store's aggregates with the catalogue's names.

use fixpoint_core::metrics::{Bucket, ReportScope, TicketReport};
use fixpoint_store::{Store, reports};
use jiff::Timestamp;

use super::ServiceResult;

/// Ticket counts, resolution times, SLA compliance, status and priority
/// distributions, escalations by level, billable and non-billable hours.
pub async fn tickets(
    store: &Store,
    scope: &ReportScope,
    now: Timestamp,
) -> ServiceResult<TicketReport> {
    let mut conn = store.read().await?;
    let a = reports::aggregates(&mut conn, scope, now).await?;
    let reference = store.reference(&mut conn).await?;
    let cat = &reference.catalog;
    let name = |found: Option<String>| found.unwrap_or_else(|| "(deleted)".to_owned());
    Ok(TicketReport {
        tickets: a.tickets,
        open: a.open,
        resolved: a.resolved,
        resolution_hours: a.resolution_hours,
        resolution_business_hours: a.resolution_business_hours,
        sla: a.sla,
        by_status: a
            .by_status
            .into_iter()
            .map(|(id, count)| Bucket {
                id: id.0,
                name: name(cat.status(id).map(|s| s.name.clone())),
                count,
            })
            .collect(),
        by_priority: a
            .by_priority
            .into_iter()
            .map(|(id, count)| Bucket {
                id: id.0,
                name: name(cat.priority(id).map(|p| p.name.clone())),
                count,
            })
            .collect(),
        escalations_by_level: a.escalations_by_level,
        billable_hours: a.billable_hours,
        non_billable_hours: a.non_billable_hours,
    })
}
