//! Which tickets a list asks for, as data. The store compiles it to one SQL query.

use jiff::Timestamp;

use crate::ids::{CompanyId, PriorityId, QueueId, ResourceId, StatusId, TicketTypeId};

pub const LIST_LIMIT_MAX: u64 = 500;
pub const LIST_LIMIT_DEFAULT: u64 = 50;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketFilter {
    pub status_ids: Vec<StatusId>,
    pub priority_ids: Vec<PriorityId>,
    pub company_ids: Vec<CompanyId>,
    pub queue_ids: Vec<QueueId>,
    pub assigned_resource_ids: Vec<ResourceId>,
    pub type_ids: Vec<TicketTypeId>,
    /// `Some(true)`: only tickets in an open status; `Some(false)`: only resolved or closed.
    pub open: Option<bool>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub updated_after: Option<Timestamp>,
    pub updated_before: Option<Timestamp>,
    /// Text that must appear in the title or description (case-insensitive).
    pub text: Option<String>,
    /// Running, unmet resolution clocks due before this instant.
    pub resolution_due_before: Option<Timestamp>,
    /// Tickets whose SLA is in this state as of the instant.
    pub sla_state: Option<(SlaStateFilter, Timestamp)>,
}

/// The SLA states a list can be filtered by, answered from instants stored on each
/// ticket (deadlines, at-risk instants, first opening), so no calendar is needed.
/// A ticket matches when any of its clocks is in the state; `running` includes the
/// at-risk and not-started ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaStateFilter {
    /// An unmet target is past due, or a target was met late.
    Breached,
    /// The clock is paused or stopped and the ticket is not resolved.
    Paused,
    /// Resolved, and every target was met in time.
    Met,
    /// Running, unresolved and nothing past due.
    Running,
    /// Running, and a target has less than the policy's at-risk share left.
    AtRisk,
    /// Opened out of hours: no business time has passed yet.
    NotStarted,
}

impl SlaStateFilter {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "breached" => Ok(Self::Breached),
            "paused" => Ok(Self::Paused),
            "met" => Ok(Self::Met),
            "running" => Ok(Self::Running),
            "at_risk" => Ok(Self::AtRisk),
            "not_started" => Ok(Self::NotStarted),
            other => Err(format!(
                "unknown sla_state '{other}'; use not_started, running, at_risk, paused, met or breached"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    CreatedAt,
    UpdatedAt,
    DueAt,
    /// By urgency rank: ascending puts the most urgent first.
    Priority,
    Id,
}

impl SortKey {
    pub const ALL: [(SortKey, &'static str); 5] = [
        (Self::CreatedAt, "created_at"),
        (Self::UpdatedAt, "updated_at"),
        (Self::DueAt, "due_at"),
        (Self::Priority, "priority"),
        (Self::Id, "id"),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .unwrap_or("id")
    }
}

/// A sort such as `-created_at` (descending) or `due_at` (ascending, empty last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Default for Sort {
    /// Newest first: what a technician opening a list expects.
    fn default() -> Self {
        Self {
            key: SortKey::CreatedAt,
            descending: true,
        }
    }
}

impl Sort {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (descending, name) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        SortKey::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(key, _)| Sort {
                key: *key,
                descending,
            })
            .ok_or_else(|| {
                let names: Vec<_> = SortKey::ALL.iter().map(|(_, n)| *n).collect();
                format!(
                    "unknown sort '{text}'; sort by one of {} (prefix - for descending)",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parse_with_direction() {
        assert_eq!(
            Sort::parse("-created_at"),
            Ok(Sort {
                key: SortKey::CreatedAt,
                descending: true
            })
        );
        assert_eq!(
            Sort::parse("due_at"),
            Ok(Sort {
                key: SortKey::DueAt,
                descending: false
            })
        );
        assert!(Sort::parse("title").unwrap_err().contains("due_at"));
    }
}
