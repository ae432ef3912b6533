//! Atera's vocabularies onto Fixpoint's catalogue: statuses through the
//! `dialect_statuses` table, priorities by urgency rank, types by kind.

use fixpoint_core::catalog::{Catalog, TicketKind};
use fixpoint_core::ids::{PriorityId, StatusId, TicketTypeId};
use fixpoint_store::dialects::VendorStatus;

use super::wire::Error;

pub const PRIORITIES: [&str; 4] = ["Critical", "High", "Medium", "Low"];
pub const TYPES: [&str; 4] = ["Request", "Incident", "Problem", "Change"];
pub const IMPACTS: [&str; 6] = [
    "NoImpact",
    "SiteDown",
    "ServerIssue",
    "Minor",
    "Major",
    "Crisis",
];
pub const STATUSES: [&str; 4] = ["Open", "Pending", "Resolved", "Closed"];

/// Atera names four priorities; Fixpoint's are ranked. The most urgent is Critical,
/// the next High, then Medium; everything less urgent reads as Low.
pub fn priority_name(catalog: &Catalog, id: PriorityId) -> &'static str {
    let mut ranked: Vec<_> = catalog.priorities.iter().collect();
    ranked.sort_by_key(|p| p.urgency_rank);
    let position = ranked.iter().position(|p| p.id == id).unwrap_or(3);
    PRIORITIES[position.min(3)]
}

pub fn priority_id(catalog: &Catalog, name: &str, field: &str) -> Result<PriorityId, Error> {
    let position = PRIORITIES
        .iter()
        .position(|p| p.eq_ignore_ascii_case(name))
        .ok_or_else(|| unknown(field, name, &PRIORITIES))?;
    let mut ranked: Vec<_> = catalog.priorities.iter().filter(|p| p.active).collect();
    ranked.sort_by_key(|p| p.urgency_rank);
    ranked
        .get(position)
        .or(ranked.last())
        .map(|p| p.id)
        .ok_or_else(|| Error::field(field, "no priorities are defined"))
}

fn kind_name(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::ServiceRequest => "Request",
        TicketKind::Incident => "Incident",
        TicketKind::Problem => "Problem",
        TicketKind::ChangeRequest => "Change",
    }
}

pub fn type_name(catalog: &Catalog, id: TicketTypeId) -> &'static str {
    catalog
        .ticket_types
        .iter()
        .find(|t| t.id == id)
        .map_or("Request", |t| kind_name(t.kind))
}

/// The first active type of the named kind.
pub fn type_id(catalog: &Catalog, name: &str, field: &str) -> Result<TicketTypeId, Error> {
    catalog
        .ticket_types
        .iter()
        .find(|t| t.active && kind_name(t.kind).eq_ignore_ascii_case(name))
        .map(|t| t.id)
        .ok_or_else(|| unknown(field, name, &TYPES))
}

pub fn status_name(statuses: &[VendorStatus], id: StatusId) -> String {
    statuses
        .iter()
        .find(|s| s.status_id == id)
        .map_or_else(|| "Open".to_owned(), |s| s.vendor_name.clone())
}

pub fn status_id(statuses: &[VendorStatus], name: &str, field: &str) -> Result<StatusId, Error> {
    statuses
        .iter()
        .find(|s| s.write_target && s.vendor_name.eq_ignore_ascii_case(name))
        .map(|s| s.status_id)
        .ok_or_else(|| unknown(field, name, &STATUSES))
}

/// Every status that reads as `name`, for list filters.
pub fn status_ids(statuses: &[VendorStatus], name: &str, field: &str) -> Result<Vec<i64>, Error> {
    let ids: Vec<i64> = statuses
        .iter()
        .filter(|s| s.vendor_name.eq_ignore_ascii_case(name))
        .map(|s| s.status_id.0)
        .collect();
    if ids.is_empty() {
        return Err(unknown(field, name, &STATUSES));
    }
    Ok(ids)
}

pub fn impact(name: &str, field: &str) -> Result<&'static str, Error> {
    IMPACTS
        .iter()
        .find(|i| i.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| unknown(field, name, &IMPACTS))
}

fn unknown(field: &str, value: &str, allowed: &[&str]) -> Error {
    Error::field(
        field,
        format!("'{value}' is not one of {}", allowed.join(", ")),
    )
}
