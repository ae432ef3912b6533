//! Which tickets a list asks for, as data. The store compiles it to one SQL query.

use jiff::Timestamp;

use crate::ids::{CompanyId, PriorityId, QueueId, ResourceId, StatusId, TicketTypeId};
use crate::query::{Column, Field, Node, Scalar, Test};
use crate::ticket::Ticket;

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
    /// Words that must all appear in the title, description or notes (full-text search).
    pub text: Option<String>,
    /// Running, unmet resolution clocks due before this instant.
    pub resolution_due_before: Option<Timestamp>,
    /// Tickets whose SLA is in this state as of the query's instant.
    pub sla_state: Option<SlaStateFilter>,
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
    pub const ALL: [SlaStateFilter; 6] = [
        Self::NotStarted,
        Self::Running,
        Self::AtRisk,
        Self::Paused,
        Self::Met,
        Self::Breached,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Breached => "breached",
            Self::Paused => "paused",
            Self::Met => "met",
            Self::Running => "running",
            Self::AtRisk => "at_risk",
            Self::NotStarted => "not_started",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .ok_or_else(|| {
                format!(
                    "unknown sla_state '{text}'; use not_started, running, at_risk, paused, met or breached"
                )
            })
    }
}

impl SlaStateFilter {
    /// Whether the ticket's stored SLA instants put it in this state at `now`; the
    /// store asks the same question in SQL.
    pub fn matches(self, t: &Ticket, now: Timestamp) -> bool {
        let late = |met: Option<Timestamp>, due: Option<Timestamp>| match (met, due) {
            (None, Some(due)) => due < now,
            (Some(met), Some(due)) => met > due,
            _ => false,
        };
        let breached = late(t.first_response_at, t.response_due_at)
            || late(t.resolved_at, t.resolution_due_at);
        let clock = &t.sla_clock;
        let running =
            t.sla_policy_id.is_some() && t.resolved_at.is_none() && clock.paused_since.is_none();
        let risky = |met: Option<Timestamp>, at_risk: Option<Timestamp>| {
            met.is_none() && at_risk.is_some_and(|at| at <= now)
        };
        match self {
            Self::Breached => breached,
            Self::Paused => clock.paused_since.is_some() && t.resolved_at.is_none() && !breached,
            Self::Met => t.sla_policy_id.is_some() && t.resolved_at.is_some() && !breached,
            Self::Running => running && !breached,
            Self::NotStarted => running && clock.starts_at.is_some_and(|s| s > now) && !breached,
            Self::AtRisk => {
                running
                    && (risky(t.first_response_at, clock.response_at_risk_at)
                        || risky(t.resolved_at, clock.resolution_at_risk_at))
                    && !breached
            }
        }
    }
}

impl TicketFilter {
    /// The filter as a query-language tree, the one form the store compiles.
    pub fn to_query(&self) -> Node {
        let mut all = Vec::new();
        let ids = |column: Column, ids: Vec<i64>| {
            (!ids.is_empty()).then(|| {
                Node::Leaf(
                    Field::Column(column),
                    Test::In(ids.into_iter().map(Scalar::Integer).collect()),
                )
            })
        };
        all.extend(ids(
            Column::StatusId,
            self.status_ids.iter().map(|i| i.0).collect(),
        ));
        all.extend(ids(
            Column::PriorityId,
            self.priority_ids.iter().map(|i| i.0).collect(),
        ));
        all.extend(ids(
            Column::CompanyId,
            self.company_ids.iter().map(|i| i.0).collect(),
        ));
        all.extend(ids(
            Column::QueueId,
            self.queue_ids.iter().map(|i| i.0).collect(),
        ));
        all.extend(ids(
            Column::AssignedResourceId,
            self.assigned_resource_ids.iter().map(|i| i.0).collect(),
        ));
        all.extend(ids(
            Column::TypeId,
            self.type_ids.iter().map(|i| i.0).collect(),
        ));
        if let Some(open) = self.open {
            let done: Vec<Scalar> = crate::query::CATEGORIES
                .into_iter()
                .filter(|c| !c.is_open())
                .map(|c| Scalar::Text(crate::query::category_name(c).to_owned()))
                .collect();
            let test = if open {
                Test::NotIn(done)
            } else {
                Test::In(done)
            };
            all.push(Node::Leaf(Field::StatusCategory, test));
        }
        let at = |column: Column, at: Option<Timestamp>, test: fn(Scalar) -> Test| {
            at.map(|at| Node::Leaf(Field::Column(column), test(Scalar::Instant(at))))
        };
        all.extend(at(Column::CreatedAt, self.created_after, Test::Gte));
        all.extend(at(Column::CreatedAt, self.created_before, Test::Lt));
        all.extend(at(Column::UpdatedAt, self.updated_after, Test::Gte));
        all.extend(at(Column::UpdatedAt, self.updated_before, Test::Lt));
        if let Some(before) = self.resolution_due_before {
            all.push(Node::Leaf(
                Field::Column(Column::ResolvedAt),
                Test::NotExist,
            ));
            all.extend(at(Column::ResolutionDueAt, Some(before), Test::Lt));
        }
        if let Some(state) = self.sla_state {
            all.push(Node::Leaf(
                Field::SlaState,
                Test::Eq(Scalar::Text(state.name().to_owned())),
            ));
        }
        if let Some(text) = self
            .text
            .as_deref()
            .filter(|t| !crate::query::words_of(t).is_empty())
        {
            all.push(Node::Text(text.to_owned()));
        }
        Node::And(all)
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
    /// Best text-search match first; only with a text search.
    Relevance,
}

impl SortKey {
    pub const ALL: [(SortKey, &'static str); 6] = [
        (Self::CreatedAt, "created_at"),
        (Self::UpdatedAt, "updated_at"),
        (Self::DueAt, "due_at"),
        (Self::Priority, "priority"),
        (Self::Id, "id"),
        (Self::Relevance, "relevance"),
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
