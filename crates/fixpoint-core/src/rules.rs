//! The ticket rules from the seeds (Autotask's Tickets entity reference above all),
//! each a small function over the candidate ticket and the records it points at.
//! [`check_ticket`] runs them all, for creates (`before = None`) and updates alike.

use crate::catalog::{Catalog, IssueType, QueueRequirement, TicketKind, WorkflowSettings};
use crate::error::{DomainError, ErrorCode, Violations, Warning};
use crate::ids::TicketId;
use crate::parties::{Company, Contact, Contract, Location, Queue, Resource, Role};
use crate::ticket::{self, Ticket};
use crate::workflow;

/// The records a ticket points at, as the service found them (`None`: no such row).
#[derive(Debug, Clone, Default)]
pub struct Refs {
    pub company: Option<Company>,
    pub location: Option<Location>,
    pub contact: Option<Contact>,
    pub queue: Option<Queue>,
    pub contract: Option<Contract>,
    pub assigned_resource: Option<Resource>,
    pub assigned_role: Option<Role>,
    /// The secondary resources that exist (missing ones are simply absent).
    pub secondary_resources: Vec<Resource>,
    pub issue_type: Option<IssueType>,
    pub sub_issue_type: Option<IssueType>,
    pub problem_ticket: Option<LinkedTicket>,
    /// How many tickets name this ticket as their problem.
    pub incident_count: i64,
}

/// What the linking rules need to know of the ticket named in `problem_ticket_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedTicket {
    pub id: TicketId,
    pub kind: TicketKind,
    pub problem_ticket_id: Option<TicketId>,
}

/// Checks a ticket as it would be after a create or an update. Every violation is
/// reported at once; warnings come back when the ticket is acceptable.
pub fn check_ticket(
    catalog: &Catalog,
    before: Option<&Ticket>,
    after: &Ticket,
    refs: &Refs,
) -> Result<Vec<Warning>, DomainError> {
    let mut v = Violations::default();
    check_texts(after, &mut v);
    check_categories(&after.categories, &mut v);
    check_custom_fields(after, &mut v);
    if let Some(minutes) = after.estimated_minutes
        && !(0..=ticket::ESTIMATED_MINUTES_MAX).contains(&minutes)
    {
        v.push(
            "estimated_minutes",
            ErrorCode::OutOfRange,
            format!(
                "estimated_minutes must be between 0 and {}",
                ticket::ESTIMATED_MINUTES_MAX
            ),
        );
    }
    check_company(before, after, refs, &mut v);
    check_location(before, after, refs, &mut v);
    check_contact(before, after, refs, &mut v);
    check_queue_and_contract(before, after, refs, &mut v);
    check_ticket_category(catalog, before, after, &mut v);
    check_issue_types(before, after, refs, &mut v);
    check_assignment(&catalog.settings, before, after, refs, &mut v);
    check_secondary_resources(before, after, refs, &mut v);
    check_problem_link(catalog, after, refs, &mut v);
    let warnings = check_catalogue_values(catalog, before, after, &mut v);
    v.into_result().map(|()| warnings)
}

/// A value is "newly assigned" when it differs from what the ticket had; only new
/// assignments must be active (seed 004: updates may keep an inactive value).
fn newly_set<T: PartialEq>(
    before: Option<&Ticket>,
    after: &Ticket,
    field: impl Fn(&Ticket) -> T,
) -> bool {
    before.is_none_or(|b| field(b) != field(after))
}

fn check_texts(t: &Ticket, v: &mut Violations) {
    v.required_text("title", &t.title, ticket::TITLE_MAX);
    v.optional_text(
        "description",
        t.description.as_deref(),
        ticket::DESCRIPTION_MAX,
    );
    v.optional_text(
        "resolution",
        t.resolution.as_deref(),
        ticket::RESOLUTION_MAX,
    );
    v.optional_text(
        "escalation_reason",
        t.escalation_reason.as_deref(),
        ticket::ESCALATION_REASON_MAX,
    );
}

/// Up to four levels, each non-blank: a level cannot exist without the one above.
pub fn check_categories(categories: &[String], v: &mut Violations) {
    if categories.len() > ticket::CATEGORY_LEVELS {
        v.push(
            "categories",
            ErrorCode::TooMany,
            format!(
                "{} category levels given; at most {} are allowed",
                categories.len(),
                ticket::CATEGORY_LEVELS
            ),
        );
    }
    for (i, level) in categories.iter().enumerate() {
        let field = format!("categories[{i}]");
        if level.trim().is_empty() {
            v.push(
                field,
                ErrorCode::CategoryLevelGap,
                "a category level must not be blank; leave out the deeper levels instead",
            );
        } else {
            v.optional_text(&field, Some(level), ticket::CATEGORY_MAX);
        }
    }
}

/// At most 300 per ticket (Autotask's UDF limit), names and values bounded.
pub fn check_custom_fields(t: &Ticket, v: &mut Violations) {
    if t.custom_fields.len() > ticket::CUSTOM_FIELDS_MAX {
        v.push(
            "custom_fields",
            ErrorCode::TooMany,
            format!(
                "{} custom fields; a ticket holds at most {}",
                t.custom_fields.len(),
                ticket::CUSTOM_FIELDS_MAX
            ),
        );
    }
    for (name, value) in &t.custom_fields {
        let field = format!("custom_fields.{name}");
        if name.trim().is_empty() {
            v.push(
                "custom_fields",
                ErrorCode::Required,
                "a custom field name must not be blank",
            );
        }
        v.optional_text(&field, Some(name), ticket::CUSTOM_FIELD_NAME_MAX);
        v.optional_text(&field, Some(value), ticket::CUSTOM_FIELD_VALUE_MAX);
    }
}

fn unknown(v: &mut Violations, field: &str, entity: &str, id: impl std::fmt::Display) {
    v.push(
        field,
        ErrorCode::UnknownReference,
        format!("{entity} {id} does not exist"),
    );
}

fn inactive(v: &mut Violations, field: &str, entity: &str, id: impl std::fmt::Display) {
    v.push(
        field,
        ErrorCode::InactiveValue,
        format!("{entity} {id} is inactive and cannot be newly assigned"),
    );
}

fn check_company(before: Option<&Ticket>, after: &Ticket, refs: &Refs, v: &mut Violations) {
    match &refs.company {
        None => unknown(v, "company_id", "company", after.company_id),
        Some(c) if !c.active && newly_set(before, after, |t| t.company_id) => {
            inactive(v, "company_id", "company", c.id);
        }
        Some(_) => {}
    }
}

/// A site must belong to the ticket's company (seed 004: after a company change too).
fn check_location(before: Option<&Ticket>, after: &Ticket, refs: &Refs, v: &mut Violations) {
    let Some(id) = after.location_id else { return };
    match &refs.location {
        None => unknown(v, "location_id", "location", id),
        Some(l) if l.company_id != after.company_id => v.push(
            "location_id",
            ErrorCode::LocationNotInCompany,
            format!(
                "location {id} belongs to company {}, not to the ticket's company {}",
                l.company_id, after.company_id
            ),
        ),
        Some(l) if !l.active && newly_set(before, after, |t| t.location_id) => {
            inactive(v, "location_id", "location", id)
        }
        Some(_) => {}
    }
}

/// Seed 004: Contact.companyID must be the ticket's company or that company's parent,
/// and a newly set contact must be active.
pub fn check_contact(before: Option<&Ticket>, after: &Ticket, refs: &Refs, v: &mut Violations) {
    let Some(id) = after.contact_id else { return };
    let Some(contact) = &refs.contact else {
        return unknown(v, "contact_id", "contact", id);
    };
    let parent = refs.company.as_ref().and_then(|c| c.parent_company_id);
    if contact.company_id != after.company_id && Some(contact.company_id) != parent {
        v.push(
            "contact_id",
            ErrorCode::ContactNotInCompany,
            format!(
                "contact {id} belongs to company {}; a ticket's contact must belong to the ticket's company ({}) or its parent",
                contact.company_id, after.company_id
            ),
        );
    }
    if !contact.active && newly_set(before, after, |t| t.contact_id) {
        inactive(v, "contact_id", "contact", id);
    }
}

fn check_queue_and_contract(
    before: Option<&Ticket>,
    after: &Ticket,
    refs: &Refs,
    v: &mut Violations,
) {
    if let Some(id) = after.queue_id {
        match &refs.queue {
            None => unknown(v, "queue_id", "queue", id),
            Some(q) if !q.active && newly_set(before, after, |t| t.queue_id) => {
                inactive(v, "queue_id", "queue", id)
            }
            Some(_) => {}
        }
    }
    if let Some(id) = after.contract_id {
        match &refs.contract {
            None => unknown(v, "contract_id", "contract", id),
            Some(c) if c.company_id != after.company_id => v.push(
                "contract_id",
                ErrorCode::ContractNotForCompany,
                format!(
                    "contract {id} belongs to company {}, not to the ticket's company {}",
                    c.company_id, after.company_id
                ),
            ),
            Some(c) if !c.active && newly_set(before, after, |t| t.contract_id) => {
                inactive(v, "contract_id", "contract", id);
            }
            Some(_) => {}
        }
    }
}

/// Seed 004: a new category must be active; its "Queue is Required" setting holds on
/// every write (the one category setting Autotask's API honours); a category with
/// only a due date or only a due time needs the due time from the client.
fn check_ticket_category(
    catalog: &Catalog,
    before: Option<&Ticket>,
    after: &Ticket,
    v: &mut Violations,
) {
    let Some(id) = after.ticket_category_id else {
        return;
    };
    let newly_chosen = newly_set(before, after, |t| t.ticket_category_id);
    let Some(category) = catalog.category(id) else {
        return unknown(v, "ticket_category_id", "ticket category", id);
    };
    if !category.active && newly_chosen {
        inactive(v, "ticket_category_id", "ticket category", id);
    }
    match category.queue_requirement {
        QueueRequirement::Always if after.queue_id.is_none() => v.push(
            "queue_id",
            ErrorCode::Required,
            format!("tickets of category '{}' need a queue", category.name),
        ),
        QueueRequirement::WhenNoResource
            if after.queue_id.is_none() && after.assigned_resource_id.is_none() =>
        {
            v.push(
                "queue_id",
                ErrorCode::Required,
                format!(
                    "tickets of category '{}' need a queue or an assigned resource",
                    category.name
                ),
            )
        }
        _ => {}
    }
    if newly_chosen && category.needs_explicit_due() && after.due_at.is_none() {
        v.push(
            "due_at",
            ErrorCode::Required,
            format!(
                "category '{}' sets only part of a due time, so tickets of it need due_at",
                category.name
            ),
        );
    }
}

/// Seed 004: a sub-issue type needs its issue type, and must be one of its children.
pub fn check_issue_types(before: Option<&Ticket>, after: &Ticket, refs: &Refs, v: &mut Violations) {
    if let Some(id) = after.issue_type_id {
        match &refs.issue_type {
            None => unknown(v, "issue_type_id", "issue type", id),
            Some(i) if i.parent_id.is_some() => v.push(
                "issue_type_id",
                ErrorCode::InvalidField,
                format!("issue type {id} is a sub-issue type; put it in sub_issue_type_id"),
            ),
            Some(i) if !i.active && newly_set(before, after, |t| t.issue_type_id) => {
                inactive(v, "issue_type_id", "issue type", id);
            }
            Some(_) => {}
        }
    }
    let Some(sub) = after.sub_issue_type_id else {
        return;
    };
    let Some(issue) = after.issue_type_id else {
        return v.push(
            "sub_issue_type_id",
            ErrorCode::SubIssueWithoutIssue,
            "a sub-issue type needs its issue type: set issue_type_id too",
        );
    };
    match &refs.sub_issue_type {
        None => unknown(v, "sub_issue_type_id", "sub-issue type", sub),
        Some(s) if s.parent_id != Some(issue) => v.push(
            "sub_issue_type_id",
            ErrorCode::SubIssueNotUnderIssue,
            format!("sub-issue type {sub} does not belong to issue type {issue}"),
        ),
        Some(s) if !s.active && newly_set(before, after, |t| t.sub_issue_type_id) => {
            inactive(v, "sub_issue_type_id", "sub-issue type", sub);
        }
        Some(_) => {}
    }
}

/// Seed 002/004: resource and role are assigned together; a new assignment needs an
/// active resource and an active role. With `resource_without_role` (Atera, which has
/// no roles) a resource may be assigned alone.
pub fn check_assignment(
    settings: &WorkflowSettings,
    before: Option<&Ticket>,
    after: &Ticket,
    refs: &Refs,
    v: &mut Violations,
) {
    let check_resource = |resource, v: &mut Violations| match &refs.assigned_resource {
        None => unknown(v, "assigned_resource_id", "resource", resource),
        Some(r) if !r.active && newly_set(before, after, |t| t.assigned_resource_id) => {
            inactive(v, "assigned_resource_id", "resource", resource);
        }
        Some(_) => {}
    };
    match (after.assigned_resource_id, after.assigned_role_id) {
        (None, None) => {}
        (Some(resource), None) if settings.resource_without_role => check_resource(resource, v),
        (Some(_), None) | (None, Some(_)) => {
            let missing = if after.assigned_resource_id.is_none() {
                "assigned_resource_id"
            } else {
                "assigned_role_id"
            };
            v.push(
                missing,
                ErrorCode::ResourceAndRoleTogether,
                "assigned_resource_id and assigned_role_id are set together: give both or neither",
            );
        }
        (Some(resource), Some(role)) => {
            check_resource(resource, v);
            match &refs.assigned_role {
                None => unknown(v, "assigned_role_id", "role", role),
                Some(r) if !r.active && newly_set(before, after, |t| t.assigned_role_id) => {
                    inactive(v, "assigned_role_id", "role", role);
                }
                Some(_) => {}
            }
        }
    }
}

/// A ticket may be deleted unless it is a problem that incidents still point at:
/// they would lose their link silently.
pub fn check_delete(ticket: &Ticket, incident_count: i64) -> Result<(), DomainError> {
    if incident_count > 0 {
        return Err(DomainError::Conflict {
            code: ErrorCode::ProblemHasIncidents,
            message: format!(
                "ticket {} is the problem of {incident_count} incident(s); unlink them before deleting it",
                ticket.number
            ),
        });
    }
    Ok(())
}

/// Seed 004: the primary resource is never also a secondary one, and a secondary
/// resource is listed once.
pub fn check_secondary_resources(
    before: Option<&Ticket>,
    after: &Ticket,
    refs: &Refs,
    v: &mut Violations,
) {
    if after.secondary_resource_ids.len() > ticket::SECONDARY_RESOURCES_MAX {
        v.push(
            "secondary_resource_ids",
            ErrorCode::TooMany,
            format!(
                "at most {} secondary resources",
                ticket::SECONDARY_RESOURCES_MAX
            ),
        );
        // Only the first ones were looked up; judging each of the rest says nothing more.
        return;
    }
    let was_secondary = |id| before.is_some_and(|b| b.secondary_resource_ids.contains(&id));
    for (i, id) in after.secondary_resource_ids.iter().enumerate() {
        let field = format!("secondary_resource_ids[{i}]");
        if Some(*id) == after.assigned_resource_id {
            v.push(
                &field,
                ErrorCode::SecondaryIsPrimary,
                format!("resource {id} is the primary resource; it cannot also be secondary"),
            );
        }
        if after.secondary_resource_ids[..i].contains(id) {
            v.push(
                &field,
                ErrorCode::DuplicateSecondary,
                format!("resource {id} is listed twice"),
            );
        }
        match refs.secondary_resources.iter().find(|r| r.id == *id) {
            None => unknown(v, &field, "resource", id),
            Some(r) if !r.active && !was_secondary(*id) => inactive(v, &field, "resource", id),
            Some(_) => {}
        }
    }
}

/// Seed 004's problem/incident rules:
/// - only an Incident may name a problem ticket (not a Service Request, Problem or
///   Change Request);
/// - the named ticket must be a Problem, not this ticket, and not itself an incident
///   of another problem;
/// - a Problem that has incidents cannot change to another type until they are
///   unlinked (so a ticket with incidents can never become an incident).
pub fn check_problem_link(catalog: &Catalog, after: &Ticket, refs: &Refs, v: &mut Violations) {
    let kind = catalog.ticket_type(after.type_id).map(|t| t.kind);
    if refs.incident_count > 0 && kind != Some(TicketKind::Problem) {
        v.push(
            "type_id",
            ErrorCode::ProblemHasIncidents,
            format!(
                "this ticket is the problem of {} incident(s); unlink them before changing its type",
                refs.incident_count
            ),
        );
    }
    let Some(problem_id) = after.problem_ticket_id else {
        return;
    };
    if kind != Some(TicketKind::Incident) {
        v.push(
            "problem_ticket_id",
            ErrorCode::ProblemLinkNotAllowed,
            "only an Incident can be linked to a problem ticket; Service Requests, Problems and Change Requests cannot",
        );
        return;
    }
    if problem_id == after.id {
        v.push(
            "problem_ticket_id",
            ErrorCode::ProblemTicketInvalid,
            "a ticket cannot be its own problem ticket",
        );
        return;
    }
    match &refs.problem_ticket {
        None => unknown(v, "problem_ticket_id", "ticket", problem_id),
        Some(p) if p.kind != TicketKind::Problem || p.problem_ticket_id.is_some() => v.push(
            "problem_ticket_id",
            ErrorCode::ProblemTicketInvalid,
            format!("ticket {problem_id} is not a Problem ticket (an incident of another problem cannot become one)"),
        ),
        Some(_) => {}
    }
}

fn check_catalogue_values(
    catalog: &Catalog,
    before: Option<&Ticket>,
    after: &Ticket,
    v: &mut Violations,
) -> Vec<Warning> {
    match catalog.priority(after.priority_id) {
        None => unknown(v, "priority_id", "priority", after.priority_id),
        Some(p) if !p.active && newly_set(before, after, |t| t.priority_id) => {
            inactive(v, "priority_id", "priority", p.id)
        }
        Some(_) => {}
    }
    match catalog.ticket_type(after.type_id) {
        None => unknown(v, "type_id", "ticket type", after.type_id),
        Some(t) if !t.active && newly_set(before, after, |t| t.type_id) => {
            inactive(v, "type_id", "ticket type", t.id)
        }
        Some(_) => {}
    }
    let Some(to) = catalog.status(after.status_id) else {
        unknown(v, "status_id", "status", after.status_id);
        return Vec::new();
    };
    let from = before.and_then(|b| catalog.status(b.status_id));
    workflow::check_transition(catalog, from, to, after, v)
}

/// A resolution plan is recorded as given at a moment the ticket existed, not one
/// still to come (the milestone is the plan's delivery, judged against its due time).
pub fn check_resolution_plan(
    before: &Ticket,
    after: &Ticket,
    now: jiff::Timestamp,
) -> Result<(), DomainError> {
    match after.resolution_plan_at {
        Some(at) if after.resolution_plan_at != before.resolution_plan_at => {
            if at > now {
                Err(DomainError::invalid(
                    "resolution_plan_at",
                    ErrorCode::OutOfRange,
                    format!("resolution_plan_at is when the plan was given; {at} is still to come"),
                ))
            } else if at < before.created_at {
                Err(DomainError::invalid(
                    "resolution_plan_at",
                    ErrorCode::OutOfRange,
                    format!(
                        "resolution_plan_at {at} is before the ticket was created ({})",
                        before.created_at
                    ),
                ))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{default_catalog, seeded};
    use crate::ids::*;
    use crate::ticket::tests::sample;

    #[test]
    fn a_resolution_plan_is_given_while_the_ticket_exists() {
        let before = sample(&default_catalog());
        let now = before.created_at + jiff::SignedDuration::from_hours(2);
        let given = |at| {
            let mut after = before.clone();
            after.resolution_plan_at = Some(at);
            check_resolution_plan(&before, &after, now)
        };
        assert!(given(now).is_ok());
        assert!(given(before.created_at).is_ok());
        assert!(given(now + jiff::SignedDuration::from_secs(1)).is_err());
        assert!(given(before.created_at - jiff::SignedDuration::from_secs(1)).is_err());
        assert!(check_resolution_plan(&before, &before, now).is_ok());
    }
    use jiff::Timestamp;

    fn company(id: i64, parent: Option<i64>) -> Company {
        Company {
            id: CompanyId(id),
            name: format!("Company {id}"),
            parent_company_id: parent.map(CompanyId),
            phone: None,
            website: None,
            active: true,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn contact(id: i64, company: i64, active: bool) -> Contact {
        Contact {
            id: ContactId(id),
            company_id: CompanyId(company),
            first_name: "John".into(),
            last_name: "Smith".into(),
            email: None,
            phone: None,
            language: None,
            active,
        }
    }

    fn resource(id: i64, active: bool) -> Resource {
        Resource {
            id: ResourceId(id),
            first_name: "Jane".into(),
            last_name: "Tech".into(),
            email: "jane@msp.example".into(),
            active,
        }
    }

    fn refs() -> Refs {
        Refs {
            company: Some(company(1, Some(100))),
            ..Default::default()
        }
    }

    fn codes(r: Result<Vec<Warning>, DomainError>) -> Vec<(String, ErrorCode)> {
        match r {
            Err(DomainError::Invalid(list)) => {
                list.into_iter().map(|v| (v.field, v.code)).collect()
            }
            Ok(_) => vec![],
            Err(other) => panic!("{other:?}"),
        }
    }

    fn one(field: &str, code: ErrorCode) -> Vec<(String, ErrorCode)> {
        vec![(field.to_owned(), code)]
    }

    #[test]
    fn a_plain_ticket_passes() {
        let c = default_catalog();
        assert_eq!(check_ticket(&c, None, &sample(&c), &refs()).unwrap(), []);
    }

    #[test]
    fn title_is_required_and_bounded() {
        let c = default_catalog();
        let mut t = sample(&c);
        t.title = " ".into();
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("title", ErrorCode::Required)
        );
        t.title = "x".repeat(256);
        t.description = Some("y".repeat(8001));
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            [
                ("title".into(), ErrorCode::TooLong),
                ("description".into(), ErrorCode::TooLong)
            ]
        );
    }

    fn category(c: &mut Catalog, requirement: QueueRequirement) -> TicketCategoryId {
        let mut category = c.categories[0].clone();
        category.id = TicketCategoryId(2);
        category.name = "Alerts".into();
        category.is_default = false;
        category.queue_requirement = requirement;
        c.categories.push(category);
        TicketCategoryId(2)
    }

    #[test]
    fn a_category_may_require_a_queue_or_an_owner() {
        let mut c = default_catalog();
        let mut t = sample(&c);
        t.ticket_category_id = Some(category(&mut c, QueueRequirement::Always));
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("queue_id", ErrorCode::Required)
        );
        c.categories[1].queue_requirement = QueueRequirement::WhenNoResource;
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("queue_id", ErrorCode::Required)
        );
        t.assigned_resource_id = Some(ResourceId(5));
        t.assigned_role_id = Some(RoleId(6));
        let owned = Refs {
            assigned_resource: Some(resource(5, true)),
            assigned_role: Some(Role {
                id: RoleId(6),
                name: "Engineer".into(),
                active: true,
            }),
            ..refs()
        };
        assert_eq!(codes(check_ticket(&c, None, &t, &owned)), []);
        c.categories[1].queue_requirement = QueueRequirement::Always;
        assert_eq!(
            codes(check_ticket(&c, Some(&t), &t, &owned)),
            one("queue_id", ErrorCode::Required),
            "the queue rule holds on updates too"
        );
    }

    #[test]
    fn a_new_category_must_exist_and_be_active() {
        let mut c = default_catalog();
        let mut t = sample(&c);
        t.ticket_category_id = Some(TicketCategoryId(9));
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("ticket_category_id", ErrorCode::UnknownReference)
        );
        t.ticket_category_id = Some(category(&mut c, QueueRequirement::Never));
        c.categories[1].active = false;
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("ticket_category_id", ErrorCode::InactiveValue)
        );
        assert_eq!(
            codes(check_ticket(&c, Some(&t), &t, &refs())),
            [],
            "a ticket keeps a category that became inactive"
        );
    }

    #[test]
    fn a_category_with_half_a_due_time_asks_for_due_at() {
        let mut c = default_catalog();
        let mut t = sample(&c);
        t.ticket_category_id = Some(category(&mut c, QueueRequirement::Never));
        c.categories[1].due_in_days = Some(2);
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("due_at", ErrorCode::Required)
        );
        t.due_at = Some(Timestamp::UNIX_EPOCH);
        assert_eq!(codes(check_ticket(&c, None, &t, &refs())), []);
    }

    #[test]
    fn company_must_exist() {
        let c = default_catalog();
        assert_eq!(
            codes(check_ticket(&c, None, &sample(&c), &Refs::default())),
            one("company_id", ErrorCode::UnknownReference)
        );
    }

    #[test]
    fn contact_belongs_to_company_or_its_parent_and_is_active() {
        let c = default_catalog();
        let mut t = sample(&c);
        t.contact_id = Some(ContactId(7));
        let with = |contact| Refs {
            contact: Some(contact),
            ..refs()
        };
        assert_eq!(
            codes(check_ticket(&c, None, &t, &with(contact(7, 1, true)))),
            []
        );
        assert_eq!(
            codes(check_ticket(&c, None, &t, &with(contact(7, 100, true)))),
            [],
            "parent company's contact"
        );
        assert_eq!(
            codes(check_ticket(&c, None, &t, &with(contact(7, 2, true)))),
            one("contact_id", ErrorCode::ContactNotInCompany)
        );
        assert_eq!(
            codes(check_ticket(&c, None, &t, &with(contact(7, 1, false)))),
            one("contact_id", ErrorCode::InactiveValue)
        );
        // An update that keeps the inactive contact is allowed (seed 004).
        let mut after = t.clone();
        after.title = "Renamed".into();
        assert_eq!(
            codes(check_ticket(
                &c,
                Some(&t),
                &after,
                &with(contact(7, 1, false))
            )),
            []
        );
    }

    #[test]
    fn inactive_catalogue_values_can_be_kept_but_not_newly_assigned() {
        let mut c = default_catalog();
        c.priorities
            .iter_mut()
            .find(|p| p.id == seeded::LOW)
            .unwrap()
            .active = false;
        let mut t = sample(&c);
        t.priority_id = seeded::LOW;
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("priority_id", ErrorCode::InactiveValue)
        );
        let mut after = t.clone();
        after.title = "Still low".into();
        assert_eq!(codes(check_ticket(&c, Some(&t), &after, &refs())), []);
    }

    #[test]
    fn sub_issue_needs_its_issue() {
        let c = default_catalog();
        let issue = IssueType {
            id: IssueTypeId(5),
            name: "Email".into(),
            parent_id: None,
            active: true,
        };
        let sub = IssueType {
            id: IssueTypeId(12),
            name: "Outlook".into(),
            parent_id: Some(IssueTypeId(5)),
            active: true,
        };
        let mut t = sample(&c);
        t.sub_issue_type_id = Some(IssueTypeId(12));
        let r = Refs {
            issue_type: Some(issue.clone()),
            sub_issue_type: Some(sub.clone()),
            ..refs()
        };
        assert_eq!(
            codes(check_ticket(&c, None, &t, &r)),
            one("sub_issue_type_id", ErrorCode::SubIssueWithoutIssue)
        );
        t.issue_type_id = Some(IssueTypeId(5));
        assert_eq!(codes(check_ticket(&c, None, &t, &r)), []);
        let other = IssueType {
            id: IssueTypeId(6),
            ..issue
        };
        t.issue_type_id = Some(IssueTypeId(6));
        let r = Refs {
            issue_type: Some(other),
            ..r
        };
        assert_eq!(
            codes(check_ticket(&c, None, &t, &r)),
            one("sub_issue_type_id", ErrorCode::SubIssueNotUnderIssue)
        );
    }

    #[test]
    fn a_resource_alone_is_allowed_where_the_tenant_has_no_roles() {
        let mut c = default_catalog();
        c.settings.resource_without_role = true;
        let mut t = sample(&c);
        t.assigned_resource_id = Some(ResourceId(3));
        let mut r = refs();
        assert!(codes(check_ticket(&c, None, &t, &r)).contains(&(
            "assigned_resource_id".to_owned(),
            ErrorCode::UnknownReference
        )));
        r.assigned_resource = Some(Resource {
            id: ResourceId(3),
            first_name: "Jane".into(),
            last_name: "Tech".into(),
            email: "jane@msp.example".into(),
            active: true,
        });
        assert_eq!(codes(check_ticket(&c, None, &t, &r)), vec![]);
        t.assigned_resource_id = None;
        t.assigned_role_id = Some(RoleId(2));
        assert_eq!(
            codes(check_ticket(&c, None, &t, &r)),
            one("assigned_resource_id", ErrorCode::ResourceAndRoleTogether)
        );
    }

    #[test]
    fn resource_and_role_are_assigned_together() {
        let c = default_catalog();
        let mut t = sample(&c);
        t.assigned_resource_id = Some(ResourceId(3));
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("assigned_role_id", ErrorCode::ResourceAndRoleTogether)
        );
        t.assigned_resource_id = None;
        t.assigned_role_id = Some(RoleId(2));
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("assigned_resource_id", ErrorCode::ResourceAndRoleTogether)
        );
        t.assigned_resource_id = Some(ResourceId(3));
        let r = Refs {
            assigned_resource: Some(resource(3, true)),
            assigned_role: Some(Role {
                id: RoleId(2),
                name: "Tier 1".into(),
                active: true,
            }),
            ..refs()
        };
        assert_eq!(codes(check_ticket(&c, None, &t, &r)), []);
        let r = Refs {
            assigned_resource: Some(resource(3, false)),
            ..r
        };
        assert_eq!(
            codes(check_ticket(&c, None, &t, &r)),
            one("assigned_resource_id", ErrorCode::InactiveValue)
        );
    }

    #[test]
    fn secondary_is_never_the_primary_nor_listed_twice() {
        let c = default_catalog();
        let mut t = sample(&c);
        t.assigned_resource_id = Some(ResourceId(3));
        t.assigned_role_id = Some(RoleId(2));
        t.secondary_resource_ids = vec![ResourceId(4), ResourceId(3), ResourceId(4)];
        let r = Refs {
            assigned_resource: Some(resource(3, true)),
            assigned_role: Some(Role {
                id: RoleId(2),
                name: "Tier 1".into(),
                active: true,
            }),
            secondary_resources: vec![resource(3, true), resource(4, true)],
            ..refs()
        };
        assert_eq!(
            codes(check_ticket(&c, None, &t, &r)),
            [
                (
                    "secondary_resource_ids[1]".into(),
                    ErrorCode::SecondaryIsPrimary
                ),
                (
                    "secondary_resource_ids[2]".into(),
                    ErrorCode::DuplicateSecondary
                )
            ]
        );
    }

    fn problem(id: i64, kind: TicketKind, linked: Option<i64>) -> Option<LinkedTicket> {
        Some(LinkedTicket {
            id: TicketId(id),
            kind,
            problem_ticket_id: linked.map(TicketId),
        })
    }

    #[test]
    fn only_incidents_link_to_problems() {
        let c = default_catalog();
        let mut t = sample(&c);
        t.id = TicketId(10);
        t.problem_ticket_id = Some(TicketId(20));
        let r = Refs {
            problem_ticket: problem(20, TicketKind::Problem, None),
            ..refs()
        };
        for ty in [
            seeded::SERVICE_REQUEST,
            seeded::PROBLEM,
            seeded::CHANGE_REQUEST,
        ] {
            t.type_id = ty;
            assert_eq!(
                codes(check_ticket(&c, None, &t, &r)),
                one("problem_ticket_id", ErrorCode::ProblemLinkNotAllowed)
            );
        }
        t.type_id = seeded::INCIDENT;
        assert_eq!(codes(check_ticket(&c, None, &t, &r)), []);
    }

    #[test]
    fn the_problem_must_be_a_problem_and_not_an_incident_itself() {
        let c = default_catalog();
        let mut t = sample(&c);
        t.id = TicketId(10);
        t.type_id = seeded::INCIDENT;
        t.problem_ticket_id = Some(TicketId(20));
        let with = |p| Refs {
            problem_ticket: p,
            ..refs()
        };
        assert_eq!(
            codes(check_ticket(
                &c,
                None,
                &t,
                &with(problem(20, TicketKind::Incident, None))
            )),
            one("problem_ticket_id", ErrorCode::ProblemTicketInvalid)
        );
        assert_eq!(
            codes(check_ticket(
                &c,
                None,
                &t,
                &with(problem(20, TicketKind::Problem, Some(30)))
            )),
            one("problem_ticket_id", ErrorCode::ProblemTicketInvalid)
        );
        assert_eq!(
            codes(check_ticket(&c, None, &t, &with(None))),
            one("problem_ticket_id", ErrorCode::UnknownReference)
        );
        t.problem_ticket_id = Some(TicketId(10));
        assert_eq!(
            codes(check_ticket(&c, None, &t, &with(None))),
            one("problem_ticket_id", ErrorCode::ProblemTicketInvalid)
        );
    }

    #[test]
    fn a_problem_with_incidents_keeps_its_type() {
        let c = default_catalog();
        let mut before = sample(&c);
        before.type_id = seeded::PROBLEM;
        let mut after = before.clone();
        after.type_id = seeded::INCIDENT;
        let r = Refs {
            incident_count: 2,
            ..refs()
        };
        assert_eq!(
            codes(check_ticket(&c, Some(&before), &after, &r)),
            one("type_id", ErrorCode::ProblemHasIncidents)
        );
        assert_eq!(codes(check_ticket(&c, Some(&before), &before, &r)), []);
    }

    #[test]
    fn categories_and_custom_fields_are_bounded() {
        let c = default_catalog();
        let mut t = sample(&c);
        t.categories = vec!["Email".into(), "".into()];
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("categories[1]", ErrorCode::CategoryLevelGap)
        );
        t.categories = vec!["a".into(); 5];
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("categories", ErrorCode::TooMany)
        );
        t.categories.clear();
        t.custom_fields = (0..301).map(|i| (format!("f{i}"), "v".into())).collect();
        assert_eq!(
            codes(check_ticket(&c, None, &t, &refs())),
            one("custom_fields", ErrorCode::TooMany)
        );
    }

    #[test]
    fn location_and_contract_belong_to_the_company() {
        let c = default_catalog();
        let mut t = sample(&c);
        t.location_id = Some(LocationId(4));
        t.contract_id = Some(ContractId(8));
        let r = Refs {
            location: Some(Location {
                id: LocationId(4),
                company_id: CompanyId(2),
                name: "HQ".into(),
                address: None,
                active: true,
            }),
            contract: Some(Contract {
                id: ContractId(8),
                company_id: CompanyId(2),
                name: "MSA".into(),
                sla_policy_id: None,
                active: true,
            }),
            ..refs()
        };
        assert_eq!(
            codes(check_ticket(&c, None, &t, &r)),
            [
                ("location_id".into(), ErrorCode::LocationNotInCompany),
                ("contract_id".into(), ErrorCode::ContractNotForCompany)
            ]
        );
    }
}
