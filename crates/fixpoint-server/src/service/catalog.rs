//! Catalogue administration: statuses, priorities, ticket types, issue types and the
//! workflow. Reads are for everyone; changes are an admin's (checked at the edge).

use fixpoint_core::catalog::{
    CodeLine, IssueType, Priority, QueueRequirement, SlaClock, Status, StatusCategory,
    TicketCategory, TicketKind, TicketType, WorkflowSettings, check_catalogue_name,
    check_name_free, check_numbering, check_transition_targets, check_urgency_rank,
};
use fixpoint_core::error::Violations;
use fixpoint_core::ids::{
    IssueTypeId, PriorityId, QueueId, SlaPolicyId, StatusId, TicketCategoryId, TicketTypeId,
};
use fixpoint_core::ticket::nullable;
use fixpoint_core::{DomainError, ErrorCode};
use fixpoint_store::dialects::{self, CodeKind, NUMBERING_DIALECTS};
use fixpoint_store::{Store, catalog};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ServiceResult;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStatus {
    pub name: String,
    pub category: StatusCategory,
    pub sla_clock: SlaClock,
    /// Defaults to true for resolved and closed categories.
    pub requires_resolution: Option<bool>,
    /// Defaults to true for the escalated category.
    pub requires_escalation_reason: Option<bool>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub sort_order: i32,
    /// Statuses this one may move to; moves into it are added from every open status.
    #[serde(default)]
    pub transitions_to: Vec<StatusId>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusPatch {
    pub name: Option<String>,
    pub sla_clock: Option<SlaClock>,
    pub requires_resolution: Option<bool>,
    pub requires_escalation_reason: Option<bool>,
    pub active: Option<bool>,
    pub sort_order: Option<i32>,
    /// Replaces the statuses this one may move to.
    pub transitions_to: Option<Vec<StatusId>>,
}

fn yes() -> bool {
    true
}

pub async fn create_status(store: &Store, new: NewStatus) -> ServiceResult<Status> {
    check_catalogue_name(&new.name)?;
    let mut tx = store.write().await?;
    let existing = catalog::statuses(&mut tx).await?;
    check_name_free(
        "a status",
        &new.name,
        existing.iter().map(|s| s.name.as_str()),
    )?;
    check_transition_targets(&existing, &new.transitions_to)?;
    let mut status = Status {
        id: StatusId(0),
        requires_resolution: new.requires_resolution.unwrap_or(matches!(
            new.category,
            StatusCategory::Resolved | StatusCategory::Closed
        )),
        requires_escalation_reason: new
            .requires_escalation_reason
            .unwrap_or(new.category == StatusCategory::Escalated),
        name: new.name,
        category: new.category,
        sla_clock: new.sla_clock,
        active: new.active,
        sort_order: new.sort_order,
    };
    status.id = catalog::insert_status(&mut tx, &status).await?;
    catalog::set_transitions(&mut tx, status.id, &new.transitions_to).await?;
    // A new status is reachable from every open status, as the seeded ones are.
    for from in existing.iter().filter(|s| s.is_open()) {
        catalog::add_transition(&mut tx, from.id, status.id).await?;
    }
    Store::commit(tx).await?;
    Ok(status)
}

pub async fn update_status(
    store: &Store,
    id: StatusId,
    patch: StatusPatch,
) -> ServiceResult<Status> {
    let mut tx = store.write().await?;
    let existing = catalog::statuses(&mut tx).await?;
    let before = existing
        .iter()
        .find(|s| s.id == id)
        .cloned()
        .ok_or_else(|| DomainError::not_found("status", id))?;
    let after = Status {
        name: patch.name.unwrap_or(before.name.clone()),
        sla_clock: patch.sla_clock.unwrap_or(before.sla_clock),
        requires_resolution: patch
            .requires_resolution
            .unwrap_or(before.requires_resolution),
        requires_escalation_reason: patch
            .requires_escalation_reason
            .unwrap_or(before.requires_escalation_reason),
        active: patch.active.unwrap_or(before.active),
        sort_order: patch.sort_order.unwrap_or(before.sort_order),
        ..before
    };
    check_catalogue_name(&after.name)?;
    check_name_free(
        "a status",
        &after.name,
        existing
            .iter()
            .filter(|s| s.id != id)
            .map(|s| s.name.as_str()),
    )?;
    catalog::update_status(&mut tx, &after).await?;
    if let Some(targets) = patch.transitions_to {
        check_transition_targets(&existing, &targets)?;
        catalog::set_transitions(&mut tx, id, &targets).await?;
    }
    Store::commit(tx).await?;
    Ok(after)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityInput {
    pub name: Option<String>,
    /// 1 is the most urgent.
    pub urgency_rank: Option<i32>,
    pub active: Option<bool>,
}

pub async fn save_priority(
    store: &Store,
    id: Option<PriorityId>,
    input: PriorityInput,
) -> ServiceResult<Priority> {
    let mut tx = store.write().await?;
    let existing = catalog::priorities(&mut tx).await?;
    let base = match id {
        Some(id) => existing
            .iter()
            .find(|p| p.id == id)
            .cloned()
            .ok_or_else(|| DomainError::not_found("priority", id))?,
        None => {
            let mut v = Violations::default();
            if input.name.is_none() {
                v.push("name", ErrorCode::Required, "name is required");
            }
            if input.urgency_rank.is_none() {
                v.push(
                    "urgency_rank",
                    ErrorCode::Required,
                    "urgency_rank is required (1 is the most urgent)",
                );
            }
            v.into_result()?;
            Priority {
                id: PriorityId(0),
                name: String::new(),
                urgency_rank: 0,
                active: true,
            }
        }
    };
    let mut p = Priority {
        name: input.name.unwrap_or(base.name),
        urgency_rank: input.urgency_rank.unwrap_or(base.urgency_rank),
        active: input.active.unwrap_or(base.active),
        ..base
    };
    check_catalogue_name(&p.name)?;
    check_urgency_rank(p.urgency_rank)?;
    let others = existing
        .iter()
        .filter(|e| e.id != p.id)
        .map(|e| e.name.as_str());
    check_name_free("a priority", &p.name, others)?;
    p.id = catalog::save_priority(&mut tx, &p).await?;
    Store::commit(tx).await?;
    Ok(p)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketTypeInput {
    pub name: Option<String>,
    pub kind: Option<TicketKind>,
    pub active: Option<bool>,
}

pub async fn save_ticket_type(
    store: &Store,
    id: Option<TicketTypeId>,
    input: TicketTypeInput,
) -> ServiceResult<TicketType> {
    let mut tx = store.write().await?;
    let existing = catalog::ticket_types(&mut tx).await?;
    let base = match id {
        Some(id) => existing
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .ok_or_else(|| DomainError::not_found("ticket type", id))?,
        None => {
            let mut v = Violations::default();
            if input.name.is_none() {
                v.push("name", ErrorCode::Required, "name is required");
            }
            if input.kind.is_none() {
                v.push(
                    "kind",
                    ErrorCode::Required,
                    "kind is required: service_request, incident, problem or change_request",
                );
            }
            v.into_result()?;
            TicketType {
                id: TicketTypeId(0),
                name: String::new(),
                kind: TicketKind::ServiceRequest,
                active: true,
            }
        }
    };
    let mut t = TicketType {
        name: input.name.unwrap_or(base.name),
        kind: input.kind.unwrap_or(base.kind),
        active: input.active.unwrap_or(base.active),
        ..base
    };
    check_catalogue_name(&t.name)?;
    let others = existing
        .iter()
        .filter(|e| e.id != t.id)
        .map(|e| e.name.as_str());
    check_name_free("a ticket type", &t.name, others)?;
    t.id = catalog::save_ticket_type(&mut tx, &t).await?;
    Store::commit(tx).await?;
    Ok(t)
}

/// A ticket category to add (name required) or change (only the given fields; `null`
/// clears a default).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketCategoryInput {
    pub name: Option<String>,
    pub active: Option<bool>,
    pub is_default: Option<bool>,
    pub queue_requirement: Option<QueueRequirement>,
    #[serde(default, deserialize_with = "nullable")]
    pub default_priority_id: Option<Option<PriorityId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub default_type_id: Option<Option<TicketTypeId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub default_queue_id: Option<Option<QueueId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub sla_policy_id: Option<Option<SlaPolicyId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub due_in_days: Option<Option<i32>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, example = "17:00")]
    pub due_time: Option<Option<jiff::civil::Time>>,
}

pub async fn save_ticket_category(
    store: &Store,
    id: Option<TicketCategoryId>,
    input: TicketCategoryInput,
) -> ServiceResult<TicketCategory> {
    let mut tx = store.write().await?;
    let current = catalog::load(&mut tx).await?;
    let base = match id {
        Some(id) => current
            .category(id)
            .cloned()
            .ok_or_else(|| DomainError::not_found("ticket category", id))?,
        None => {
            if input.name.is_none() {
                return Err(
                    DomainError::invalid("name", ErrorCode::Required, "name is required").into(),
                );
            }
            TicketCategory::plain(TicketCategoryId(0), "")
        }
    };
    let mut c = TicketCategory {
        name: input.name.unwrap_or(base.name),
        active: input.active.unwrap_or(base.active),
        is_default: input.is_default.unwrap_or(base.is_default),
        queue_requirement: input.queue_requirement.unwrap_or(base.queue_requirement),
        default_priority_id: input
            .default_priority_id
            .unwrap_or(base.default_priority_id),
        default_type_id: input.default_type_id.unwrap_or(base.default_type_id),
        default_queue_id: input.default_queue_id.unwrap_or(base.default_queue_id),
        sla_policy_id: input.sla_policy_id.unwrap_or(base.sla_policy_id),
        due_in_days: input.due_in_days.unwrap_or(base.due_in_days),
        due_time: input.due_time.unwrap_or(base.due_time),
        ..base
    };
    c.check(&current)?;
    let others = current
        .categories
        .iter()
        .filter(|e| e.id != c.id)
        .map(|e| e.name.as_str());
    check_name_free("a ticket category", &c.name, others)?;
    let mut v = Violations::default();
    if let Some(queue) = c.default_queue_id
        && fixpoint_store::parties::queue(&mut tx, queue)
            .await?
            .is_none()
    {
        v.push(
            "default_queue_id",
            ErrorCode::UnknownReference,
            format!("queue {queue} does not exist"),
        );
    }
    if let Some(policy) = c.sla_policy_id
        && !fixpoint_store::sla::policies(&mut tx)
            .await?
            .iter()
            .any(|p| p.id == policy)
    {
        v.push(
            "sla_policy_id",
            ErrorCode::UnknownReference,
            format!("SLA policy {policy} does not exist"),
        );
    }
    v.into_result()?;
    c.id = catalog::save_ticket_category(&mut tx, &c).await?;
    Store::commit(tx).await?;
    Ok(c)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIssueType {
    pub name: String,
    /// Set for a sub-issue type: the issue type it belongs under.
    pub parent_id: Option<IssueTypeId>,
    #[serde(default = "yes")]
    pub active: bool,
}

pub async fn create_issue_type(store: &Store, new: NewIssueType) -> ServiceResult<IssueType> {
    check_catalogue_name(&new.name)?;
    let mut tx = store.write().await?;
    if let Some(parent) = new.parent_id {
        match catalog::issue_type(&mut tx, parent).await? {
            None => {
                return Err(DomainError::invalid(
                    "parent_id",
                    ErrorCode::UnknownReference,
                    format!("issue type {parent} does not exist"),
                )
                .into());
            }
            Some(p) if p.parent_id.is_some() => {
                return Err(DomainError::invalid(
                    "parent_id",
                    ErrorCode::InvalidField,
                    format!("issue type {parent} is itself a sub-issue type; issue types are two levels deep"),
                )
                .into());
            }
            Some(_) => {}
        }
    }
    let id = catalog::insert_issue_type(&mut tx, &new.name, new.parent_id, new.active).await?;
    Store::commit(tx).await?;
    Ok(IssueType {
        id,
        name: new.name,
        parent_id: new.parent_id,
        active: new.active,
    })
}

/// The moves allowed between statuses, and the workflow switches.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Workflow {
    pub transitions: Vec<Transition>,
    pub settings: WorkflowSettings,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Transition {
    pub from_status_id: StatusId,
    pub to_status_id: StatusId,
}

pub async fn workflow(store: &Store) -> ServiceResult<Workflow> {
    let mut conn = store.read().await?;
    let transitions = catalog::transitions(&mut conn).await?;
    Ok(Workflow {
        transitions: transitions
            .into_iter()
            .map(|(f, t)| Transition {
                from_status_id: f,
                to_status_id: t,
            })
            .collect(),
        settings: catalog::settings(&mut conn).await?,
    })
}

pub async fn save_settings(
    store: &Store,
    settings: WorkflowSettings,
) -> ServiceResult<WorkflowSettings> {
    let mut tx = store.write().await?;
    catalog::save_settings(&mut tx, &settings).await?;
    Store::commit(tx).await?;
    Ok(settings)
}

/// How a vendor dialect numbers the catalogue (Autotask's priority 4 = Critical).
/// Values without a line read as 1000 + their id.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Numbering {
    pub status: Vec<CodeLine>,
    pub priority: Vec<CodeLine>,
    pub ticket_type: Vec<CodeLine>,
}

/// An admin's new numbering of one catalogue: it replaces the old one whole.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberingInput {
    pub codes: Vec<CodeLine>,
}

fn numbering_dialect(dialect: &str) -> ServiceResult<&'static str> {
    NUMBERING_DIALECTS
        .into_iter()
        .find(|d| d.eq_ignore_ascii_case(dialect))
        .ok_or_else(|| DomainError::not_found("dialect numbering", dialect).into())
}

pub async fn numbering(store: &Store, dialect: &str) -> ServiceResult<Numbering> {
    let dialect = numbering_dialect(dialect)?;
    let mut conn = store.read().await?;
    let mut out = Numbering::default();
    for c in dialects::codes(&mut conn, dialect).await? {
        let line = CodeLine {
            code: c.code,
            target_id: c.target_id,
        };
        match c.kind {
            CodeKind::Status => out.status.push(line),
            CodeKind::Priority => out.priority.push(line),
            CodeKind::TicketType => out.ticket_type.push(line),
        }
    }
    Ok(out)
}

pub async fn set_numbering(
    store: &Store,
    dialect: &str,
    kind: &str,
    input: NumberingInput,
) -> ServiceResult<Numbering> {
    let dialect = numbering_dialect(dialect)?;
    let kind = CodeKind::parse(kind).ok_or_else(|| DomainError::not_found("catalogue", kind))?;
    let mut tx = store.write().await?;
    let values = kind.values(&catalog::load(&mut tx).await?);
    check_numbering(&values, &input.codes)?;
    dialects::set_codes(&mut tx, dialect, kind, &input.codes).await?;
    Store::commit(tx).await?;
    numbering(store, dialect).await
}
