//! Catalogues are data: statuses, priorities, ticket types, issue types and the
//! allowed status moves are rows an admin can change. This module holds their
//! shapes and the defaults seeded into a new database, which cover the status and
//! priority vocabularies of Autotask, HaloPSA and Atera.

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorCode, Violations};
use crate::ids::{
    IssueTypeId, PriorityId, QueueId, SlaPolicyId, StatusId, TicketCategoryId, TicketTypeId,
};

/// What the SLA clock does while a ticket sits in a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SlaClock {
    Running,
    Paused,
    Stopped,
}

/// The role a status plays in the workflow. Rules key on the category, never on a
/// status id or name, so admins can add and rename statuses freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StatusCategory {
    New,
    InProgress,
    Waiting,
    Escalated,
    Resolved,
    Closed,
}

impl StatusCategory {
    /// Open tickets are those still needing work: everything but resolved and closed.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Status {
    pub id: StatusId,
    pub name: String,
    pub category: StatusCategory,
    pub sla_clock: SlaClock,
    /// Entering this status needs a resolution text on the ticket.
    pub requires_resolution: bool,
    /// Entering this status needs an escalation reason on the ticket.
    pub requires_escalation_reason: bool,
    pub active: bool,
    pub sort_order: i32,
}

impl Status {
    pub fn is_open(&self) -> bool {
        self.category.is_open()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Priority {
    pub id: PriorityId,
    pub name: String,
    /// 1 is the most urgent. Vendors number priorities in opposite directions;
    /// the rank is Fixpoint's own and the dialects map onto it.
    pub urgency_rank: i32,
    pub active: bool,
}

/// The ITIL kind of a ticket type: the problem/incident rules key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TicketKind {
    ServiceRequest,
    Incident,
    Problem,
    ChangeRequest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketType {
    pub id: TicketTypeId,
    pub name: String,
    pub kind: TicketKind,
    pub active: bool,
}

/// Issue types form a two-level tree: an issue type has no parent, a sub-issue
/// type has its issue type as parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueType {
    pub id: IssueTypeId,
    pub name: String,
    pub parent_id: Option<IssueTypeId>,
    pub active: bool,
}

/// When a ticket of a category must name a queue (Autotask's "Queue is Required").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum QueueRequirement {
    #[default]
    Never,
    Always,
    /// A queue or an assigned resource: someone must own the ticket.
    WhenNoResource,
}

/// A ticket category (Autotask's `ticketCategory`): a template for new tickets. Its
/// defaults fill what a create leaves out; its queue requirement is checked on every
/// write; its SLA policy applies when neither the ticket, its contract nor its queue
/// names one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketCategory {
    pub id: TicketCategoryId,
    pub name: String,
    pub active: bool,
    /// New tickets that name no category get this one (at most one is the default).
    pub is_default: bool,
    pub queue_requirement: QueueRequirement,
    pub default_priority_id: Option<PriorityId>,
    pub default_type_id: Option<TicketTypeId>,
    pub default_queue_id: Option<QueueId>,
    pub sla_policy_id: Option<SlaPolicyId>,
    /// Due date: this many days after the ticket is opened…
    pub due_in_days: Option<i32>,
    /// …at this time of day (in the default SLA calendar's time zone). A category with
    /// both sets new tickets' due time; with only one, creates must give `due_at`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "17:00:00"))]
    pub due_time: Option<jiff::civil::Time>,
}

/// A due date needs at most a year's notice.
pub const CATEGORY_DUE_DAYS_MAX: i32 = 366;

impl TicketCategory {
    /// An active category with no defaults and no queue requirement.
    pub fn plain(id: TicketCategoryId, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            active: true,
            is_default: false,
            queue_requirement: QueueRequirement::Never,
            default_priority_id: None,
            default_type_id: None,
            default_queue_id: None,
            sla_policy_id: None,
            due_in_days: None,
            due_time: None,
        }
    }

    /// The due time a new ticket opened at `now` gets, when the category sets both parts.
    pub fn default_due(
        &self,
        now: jiff::Timestamp,
        zone: &jiff::tz::TimeZone,
    ) -> Option<jiff::Timestamp> {
        let (days, time) = (self.due_in_days?, self.due_time?);
        let day = now
            .to_zoned_datetime(zone.clone())
            .date()
            .checked_add(jiff::Span::new().days(days))
            .ok()?;
        day.to_datetime(time)
            .to_zoned_datetime(zone.clone())
            .ok()
            .map(|z| z.timestamp())
    }

    /// Autotask: a category with only a due date or only a due time leaves the due
    /// time to the client, who must then give one.
    pub fn needs_explicit_due(&self) -> bool {
        self.due_in_days.is_some() != self.due_time.is_some()
    }

    /// The admin's checks on a category row; references to queues and policies are
    /// the service's to check, as they live outside the catalogue.
    pub fn check(&self, catalog: &Catalog) -> Result<(), DomainError> {
        let mut v = Violations::default();
        v.required_text("name", &self.name, CATALOGUE_NAME_MAX);
        if let Some(days) = self.due_in_days
            && !(0..=CATEGORY_DUE_DAYS_MAX).contains(&days)
        {
            v.push(
                "due_in_days",
                ErrorCode::OutOfRange,
                format!("due_in_days is 0 to {CATEGORY_DUE_DAYS_MAX}"),
            );
        }
        if let Some(id) = self.default_priority_id
            && catalog.priority(id).is_none()
        {
            v.push(
                "default_priority_id",
                ErrorCode::UnknownReference,
                format!("priority {id} does not exist"),
            );
        }
        if let Some(id) = self.default_type_id
            && catalog.ticket_type(id).is_none()
        {
            v.push(
                "default_type_id",
                ErrorCode::UnknownReference,
                format!("ticket type {id} does not exist"),
            );
        }
        if self.is_default && !self.active {
            v.push(
                "is_default",
                ErrorCode::InactiveValue,
                "the default category must be active",
            );
        }
        v.into_result()
    }
}

/// Workflow switches where the vendors disagree. The defaults lose nothing: every
/// move any vendor allows is allowed; a tenant tightens them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowSettings {
    /// Atera: a ticket must pass through a resolved status before it is closed.
    /// Off by default (Autotask and HaloPSA close straight from New with a resolution).
    #[serde(default)]
    pub close_requires_resolved: bool,
    /// Atera: a technician may be assigned without a role (Atera has none). Off by
    /// default: Autotask assigns resource and role together.
    #[serde(default)]
    pub resource_without_role: bool,
    /// Atera: tickets resolve and close without a resolution text (Atera has no such
    /// field). Off by default: a resolved or closed status asks for one.
    #[serde(default)]
    pub resolution_optional: bool,
}

impl WorkflowSettings {
    pub const PROFILES: [&'static str; 4] = ["default", "autotask", "halopsa", "atera"];

    /// The switches a vendor's clients expect of a new installation: Atera resolves
    /// before it closes and has no roles; HaloPSA assigns an agent without a role (a
    /// ticket has an agent and a team); Autotask keeps the defaults.
    pub fn profile(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "default" | "autotask" => Some(Self::default()),
            "halopsa" => Some(Self {
                resource_without_role: true,
                ..Self::default()
            }),
            "atera" => Some(Self {
                close_requires_resolved: true,
                resource_without_role: true,
                resolution_optional: true,
            }),
            _ => None,
        }
    }
}

/// Everything the workflow rules read, loaded once per request by the service.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub ticket_types: Vec<TicketType>,
    pub transitions: Vec<(StatusId, StatusId)>,
    pub categories: Vec<TicketCategory>,
    pub settings: WorkflowSettings,
}

impl Catalog {
    pub fn status(&self, id: StatusId) -> Option<&Status> {
        self.statuses.iter().find(|s| s.id == id)
    }

    pub fn priority(&self, id: PriorityId) -> Option<&Priority> {
        self.priorities.iter().find(|p| p.id == id)
    }

    pub fn ticket_type(&self, id: TicketTypeId) -> Option<&TicketType> {
        self.ticket_types.iter().find(|t| t.id == id)
    }

    pub fn category(&self, id: TicketCategoryId) -> Option<&TicketCategory> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// The category a new ticket gets when it names none.
    pub fn default_category(&self) -> Option<&TicketCategory> {
        first_active(&self.categories, |c| c.active && c.is_default)
    }

    pub fn allows(&self, from: StatusId, to: StatusId) -> bool {
        from == to || self.transitions.contains(&(from, to))
    }

    pub fn allowed_targets(&self, from: StatusId) -> Vec<&Status> {
        self.statuses
            .iter()
            .filter(|s| s.id != from && self.allows(from, s.id))
            .collect()
    }

    /// The status a new ticket gets when none is given: the first active New status.
    pub fn initial_status(&self) -> Option<&Status> {
        first_active(&self.statuses, |s| {
            s.category == StatusCategory::New && s.active
        })
    }

    /// Medium when there is one, as every vendor defaults; else the middle active rank.
    pub fn default_priority(&self) -> Option<&Priority> {
        first_active(&self.priorities, |p| {
            p.active && p.name.eq_ignore_ascii_case("Medium")
        })
        .or_else(|| {
            let mut active: Vec<_> = self.priorities.iter().filter(|p| p.active).collect();
            active.sort_by_key(|p| p.urgency_rank);
            active.get(active.len() / 2).copied()
        })
    }

    pub fn default_ticket_type(&self) -> Option<&TicketType> {
        first_active(&self.ticket_types, |t| {
            t.active && t.kind == TicketKind::ServiceRequest
        })
    }
}

/// Catalogue rows (statuses, priorities, types, calendars, policies) have short names.
pub const CATALOGUE_NAME_MAX: usize = 100;

pub fn check_catalogue_name(name: &str) -> Result<(), DomainError> {
    let mut v = Violations::default();
    v.required_text("name", name, CATALOGUE_NAME_MAX);
    v.into_result()
}

/// Names are unique per catalogue, ignoring case. `what` reads "a status", "an SLA policy"…
pub fn check_name_free<'a>(
    what: &str,
    name: &str,
    others: impl IntoIterator<Item = &'a str>,
) -> Result<(), DomainError> {
    if others
        .into_iter()
        .any(|other| other.eq_ignore_ascii_case(name))
    {
        return Err(DomainError::Conflict {
            code: ErrorCode::AlreadyExists,
            message: format!("{what} named '{name}' exists"),
        });
    }
    Ok(())
}

/// The numbers a vendor dialect may give catalogue values (Autotask's priority
/// 4 = Critical). A value left without one reads as `UNNUMBERED_FROM + its id`, so the
/// two ranges never meet.
pub const DIALECT_CODES: std::ops::RangeInclusive<i64> = 1..=999;
pub const UNNUMBERED_FROM: i64 = 1000;

/// One line of a dialect's numbering of a catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeLine {
    pub code: i64,
    /// The status, priority or ticket type the code stands for.
    pub target_id: i64,
}

/// A dialect's numbering of one catalogue (`values`: the ids it holds) reads both ways:
/// each code and each value at most once, every value in the catalogue, codes in
/// [`DIALECT_CODES`]. At least one line, so that an emptied table is never mistaken
/// for one never numbered (and seeded again).
pub fn check_numbering(values: &[i64], codes: &[CodeLine]) -> Result<(), DomainError> {
    let mut v = Violations::default();
    if codes.is_empty() {
        v.push(
            "codes",
            ErrorCode::Required,
            "give at least one code; values without one read as 1000 + their id",
        );
    }
    for (i, line) in codes.iter().enumerate() {
        if !DIALECT_CODES.contains(&line.code) {
            v.push(
                format!("codes[{i}].code"),
                ErrorCode::OutOfRange,
                format!(
                    "code {} is outside {}–{}",
                    line.code,
                    DIALECT_CODES.start(),
                    DIALECT_CODES.end()
                ),
            );
        } else if codes[..i].iter().any(|o| o.code == line.code) {
            v.push(
                format!("codes[{i}].code"),
                ErrorCode::InvalidField,
                format!("code {} is given twice", line.code),
            );
        }
        if !values.contains(&line.target_id) {
            v.push(
                format!("codes[{i}].target_id"),
                ErrorCode::UnknownReference,
                format!("{} is not in the catalogue", line.target_id),
            );
        } else if codes[..i].iter().any(|o| o.target_id == line.target_id) {
            v.push(
                format!("codes[{i}].target_id"),
                ErrorCode::InvalidField,
                format!("{} already has a code", line.target_id),
            );
        }
    }
    v.into_result()
}

/// 1 is the most urgent; a hundred levels is more than any desk uses.
pub fn check_urgency_rank(rank: i32) -> Result<(), DomainError> {
    if !(1..=100).contains(&rank) {
        return Err(DomainError::invalid(
            "urgency_rank",
            ErrorCode::OutOfRange,
            "urgency_rank is 1 (most urgent) to 100",
        ));
    }
    Ok(())
}

/// Every status a move may go to must exist.
pub fn check_transition_targets(
    statuses: &[Status],
    targets: &[StatusId],
) -> Result<(), DomainError> {
    let mut v = Violations::default();
    for (i, id) in targets.iter().enumerate() {
        if !statuses.iter().any(|s| s.id == *id) {
            v.push(
                format!("transitions_to[{i}]"),
                ErrorCode::UnknownReference,
                format!("status {id} does not exist"),
            );
        }
    }
    v.into_result()
}

fn first_active<T>(items: &[T], pred: impl Fn(&T) -> bool) -> Option<&T> {
    items.iter().find(|item| pred(item))
}

/// Seeded status ids, used by the defaults below and by tests.
pub mod seeded {
    use crate::ids::{PriorityId, StatusId, TicketCategoryId, TicketTypeId};

    pub const NEW: StatusId = StatusId(1);
    pub const IN_PROGRESS: StatusId = StatusId(2);
    pub const PENDING: StatusId = StatusId(3);
    pub const ON_HOLD: StatusId = StatusId(4);
    pub const WAITING_CUSTOMER: StatusId = StatusId(5);
    pub const WAITING_THIRD_PARTY: StatusId = StatusId(6);
    pub const WAITING_MATERIALS: StatusId = StatusId(7);
    pub const ESCALATED: StatusId = StatusId(8);
    pub const RESOLVED: StatusId = StatusId(9);
    pub const COMPLETE: StatusId = StatusId(10);

    pub const CRITICAL: PriorityId = PriorityId(1);
    pub const HIGH: PriorityId = PriorityId(2);
    pub const MEDIUM: PriorityId = PriorityId(3);
    pub const LOW: PriorityId = PriorityId(4);

    pub const SERVICE_REQUEST: TicketTypeId = TicketTypeId(1);
    pub const INCIDENT: TicketTypeId = TicketTypeId(2);
    pub const PROBLEM: TicketTypeId = TicketTypeId(3);
    pub const CHANGE_REQUEST: TicketTypeId = TicketTypeId(4);

    /// Seeded by migration 0013, so that upgraded databases have it too.
    pub const STANDARD: TicketCategoryId = TicketCategoryId(1);
}

/// The catalogue a new database starts with.
///
/// Statuses: the union of the three vendors. Autotask's New, In Progress, Waiting
/// Customer, Waiting Materials, Escalated, Complete; HaloPSA's Pending, On Hold,
/// Waiting on Third Party, Resolved, Closed (= Complete); Atera's Open (= New and the
/// working statuses), Pending, Resolved, Closed.
///
/// Moves: any open status may go to any other status except back to New; Resolved
/// may be closed or reopened; Complete may only be reopened (to In Progress).
pub fn default_catalog() -> Catalog {
    use SlaClock::{Paused, Running, Stopped};
    use StatusCategory as C;
    use seeded::*;

    let status = |id: StatusId, name: &str, category, sla_clock, sort_order| Status {
        id,
        name: name.to_owned(),
        category,
        sla_clock,
        requires_resolution: matches!(category, C::Resolved | C::Closed),
        requires_escalation_reason: category == C::Escalated,
        active: true,
        sort_order,
    };
    let statuses = vec![
        status(NEW, "New", C::New, Running, 10),
        status(IN_PROGRESS, "In Progress", C::InProgress, Running, 20),
        status(PENDING, "Pending", C::Waiting, Paused, 30),
        status(ON_HOLD, "On Hold", C::Waiting, Paused, 40),
        status(WAITING_CUSTOMER, "Waiting Customer", C::Waiting, Paused, 50),
        status(
            WAITING_THIRD_PARTY,
            "Waiting Third Party",
            C::Waiting,
            Paused,
            60,
        ),
        status(
            WAITING_MATERIALS,
            "Waiting Materials",
            C::Waiting,
            Paused,
            70,
        ),
        status(ESCALATED, "Escalated", C::Escalated, Running, 80),
        status(RESOLVED, "Resolved", C::Resolved, Stopped, 90),
        status(COMPLETE, "Complete", C::Closed, Stopped, 100),
    ];

    let mut transitions = Vec::new();
    for from in &statuses {
        for to in &statuses {
            let allowed = match from.category {
                _ if from.id == to.id => false,
                _ if to.category == C::New => false,
                C::Resolved => matches!(to.category, C::Closed | C::InProgress),
                C::Closed => to.category == C::InProgress,
                _ => true,
            };
            if allowed {
                transitions.push((from.id, to.id));
            }
        }
    }

    let priority = |id: PriorityId, name: &str, urgency_rank| Priority {
        id,
        name: name.to_owned(),
        urgency_rank,
        active: true,
    };
    let ticket_type = |id: TicketTypeId, name: &str, kind| TicketType {
        id,
        name: name.to_owned(),
        kind,
        active: true,
    };
    Catalog {
        statuses,
        priorities: vec![
            priority(CRITICAL, "Critical", 1),
            priority(HIGH, "High", 2),
            priority(MEDIUM, "Medium", 3),
            priority(LOW, "Low", 4),
        ],
        ticket_types: vec![
            ticket_type(
                SERVICE_REQUEST,
                "Service Request",
                TicketKind::ServiceRequest,
            ),
            ticket_type(INCIDENT, "Incident", TicketKind::Incident),
            ticket_type(PROBLEM, "Problem", TicketKind::Problem),
            ticket_type(CHANGE_REQUEST, "Change Request", TicketKind::ChangeRequest),
        ],
        transitions,
        categories: vec![TicketCategory {
            is_default: true,
            ..TicketCategory::plain(seeded::STANDARD, "Standard")
        }],
        settings: WorkflowSettings::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::seeded::*;
    use super::*;

    #[test]
    fn a_numbering_reads_both_ways() {
        let line = |code, target_id| CodeLine { code, target_id };
        assert!(check_numbering(&[1, 2, 3], &[line(4, 1), line(1, 3)]).is_ok());
        let fields = |codes: &[CodeLine]| match check_numbering(&[1, 2, 3], codes) {
            Err(DomainError::Invalid(v)) => v.into_iter().map(|v| v.field).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(fields(&[]), ["codes"]);
        assert_eq!(
            fields(&[line(4, 1), line(4, 2), line(5, 2), line(1000, 9)]),
            [
                "codes[1].code",
                "codes[2].target_id",
                "codes[3].code",
                "codes[3].target_id"
            ]
        );
        assert_eq!(fields(&[line(0, 1)]), ["codes[0].code"]);
    }

    #[test]
    fn profiles_name_the_vendor_workflows() {
        let atera = WorkflowSettings::profile("Atera").unwrap();
        assert!(
            atera.close_requires_resolved
                && atera.resource_without_role
                && atera.resolution_optional
        );
        assert_eq!(
            WorkflowSettings::profile("autotask"),
            Some(WorkflowSettings::default())
        );
        assert_eq!(WorkflowSettings::profile("kaseya"), None);
        assert!(
            WorkflowSettings::PROFILES
                .iter()
                .all(|p| WorkflowSettings::profile(p).is_some())
        );
    }

    #[test]
    fn defaults_are_new_medium_service_request() {
        let c = default_catalog();
        assert_eq!(c.initial_status().unwrap().id, NEW);
        assert_eq!(c.default_priority().unwrap().id, MEDIUM);
        assert_eq!(c.default_ticket_type().unwrap().id, SERVICE_REQUEST);
    }

    #[test]
    fn default_moves() {
        let c = default_catalog();
        assert!(
            c.allows(NEW, COMPLETE),
            "Autotask and HaloPSA close straight from New"
        );
        assert!(c.allows(WAITING_CUSTOMER, IN_PROGRESS));
        assert!(
            c.allows(RESOLVED, IN_PROGRESS),
            "resolved tickets can be reopened"
        );
        assert!(
            c.allows(COMPLETE, IN_PROGRESS),
            "complete tickets can be reopened"
        );
        assert!(!c.allows(COMPLETE, WAITING_CUSTOMER));
        assert!(!c.allows(IN_PROGRESS, NEW), "nothing goes back to New");
        assert!(!c.allows(RESOLVED, ESCALATED));
    }

    #[test]
    fn admin_checks_on_catalogue_rows() {
        let c = default_catalog();
        assert!(check_catalogue_name("Parked").is_ok());
        assert!(check_catalogue_name(" ").is_err());
        assert!(check_catalogue_name(&"x".repeat(CATALOGUE_NAME_MAX + 1)).is_err());
        let names = c.statuses.iter().map(|s| s.name.as_str());
        let taken = check_name_free("a status", "in progress", names).unwrap_err();
        assert!(matches!(
            taken,
            DomainError::Conflict {
                code: ErrorCode::AlreadyExists,
                ..
            }
        ));
        assert!(
            check_urgency_rank(1).is_ok()
                && check_urgency_rank(0).is_err()
                && check_urgency_rank(101).is_err()
        );
        assert!(check_transition_targets(&c.statuses, &[IN_PROGRESS]).is_ok());
        let unknown =
            check_transition_targets(&c.statuses, &[IN_PROGRESS, StatusId(99)]).unwrap_err();
        assert!(
            matches!(unknown, DomainError::Invalid(ref v) if v[0].field == "transitions_to[1]")
        );
    }

    #[test]
    fn every_vendor_status_has_a_home() {
        let c = default_catalog();
        for name in [
            "New",
            "In Progress",
            "Pending",
            "On Hold",
            "Waiting Customer",
            "Waiting Third Party",
            "Waiting Materials",
            "Escalated",
            "Resolved",
            "Complete",
        ] {
            assert!(c.statuses.iter().any(|s| s.name == name), "{name} missing");
        }
        let paused: Vec<_> = c
            .statuses
            .iter()
            .filter(|s| s.sla_clock == SlaClock::Paused)
            .collect();
        assert!(paused.iter().all(|s| s.category == StatusCategory::Waiting));
    }
}
