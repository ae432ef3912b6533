//! Tickets in Autotask's shape: numbering through the seeded code tables, SLA fields
//! from the core's clock, user-defined fields onto custom fields.

use fixpoint_core::catalog::Catalog;
use fixpoint_core::ids::*;
use fixpoint_core::ticket::{NewTicket, Source, TicketPatch};
use fixpoint_core::time_entry::{NoteKind, Visibility};
use fixpoint_server::service::tickets::{self as service, SlaSetup, TicketView};
use fixpoint_store::dialects::CodeKind;

use crate::numbering::Numbering;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::Pick;
use super::{Call, Error};

pub const DIALECT: &str = "autotask";

/// Ticket sources by Autotask number (Autotask's own where it has one).
pub const SOURCES: [(Source, i64, &str); 6] = [
    (Source::Portal, -1, "Client Portal"),
    (Source::Other, 1, "Other"),
    (Source::Phone, 2, "Phone"),
    (Source::Email, 4, "Email"),
    (Source::Agent, 8, "Monitoring Alert"),
    (Source::Api, 12, "API"),
];

pub const NOTE_TYPES: [(NoteKind, i64, &str); 4] = [
    (NoteKind::Note, 1, "Note"),
    (NoteKind::Phone, 2, "Phone"),
    (NoteKind::SiteVisit, 3, "Site Visit"),
    (NoteKind::Email, 101, "Email"),
];

pub const PUBLISH: [(Visibility, i64, &str); 2] = [
    (Visibility::External, 1, "All Users"),
    (Visibility::Internal, 2, "Internal Only"),
];

/// The catalogue, SLA calendars and Autotask's numbering, for one request.
pub struct Vocabulary {
    pub setup: SlaSetup,
    numbering: Numbering,
}

impl Vocabulary {
    pub async fn load(call: &Call) -> Result<Self, Error> {
        let mut conn = call.state.store.read().await?;
        Ok(Self {
            setup: SlaSetup::load(&call.state.store, &mut conn).await?,
            numbering: Numbering::load(&mut conn, DIALECT).await?,
        })
    }

    pub fn catalog(&self) -> &Catalog {
        self.setup.catalog()
    }

    /// The Autotask number of a Fixpoint id.
    pub fn code(&self, kind: CodeKind, id: i64) -> i64 {
        self.numbering.code(kind, id)
    }

    /// The Fixpoint id an Autotask number stands for.
    pub fn id(&self, kind: CodeKind, code: i64) -> Option<i64> {
        self.numbering.id(self.catalog(), kind, code)
    }

    /// A field's picklist, as `entityInformation/fields` lists it.
    pub fn picklist(&self, pick: Pick) -> Option<Vec<Value>> {
        let entry = |value: i64, label: &str, active: bool, default: bool, order: usize| {
            json!({
                "value": value.to_string(), "label": label, "isDefaultValue": default,
                "sortOrder": order, "parentValue": "", "isActive": active, "isSystem": true,
            })
        };
        let c = self.catalog();
        Some(match pick {
            Pick::Code(CodeKind::Status) => {
                let initial = c.initial_status().map(|s| s.id);
                let mut statuses: Vec<_> = c.statuses.iter().collect();
                statuses.sort_by_key(|s| s.sort_order);
                statuses
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let code = self.code(CodeKind::Status, s.id.0);
                        entry(code, &s.name, s.active, Some(s.id) == initial, i)
                    })
                    .collect()
            }
            Pick::Code(CodeKind::Priority) => {
                let default = c.default_priority().map(|p| p.id);
                c.priorities
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let code = self.code(CodeKind::Priority, p.id.0);
                        entry(code, &p.name, p.active, Some(p.id) == default, i)
                    })
                    .collect()
            }
            Pick::Code(CodeKind::TicketType) => {
                let default = c.default_ticket_type().map(|t| t.id);
                c.ticket_types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        let code = self.code(CodeKind::TicketType, t.id.0);
                        entry(code, &t.name, t.active, Some(t.id) == default, i)
                    })
                    .collect()
            }
            Pick::Source => SOURCES
                .iter()
                .enumerate()
                .map(|(i, (s, code, label))| entry(*code, label, true, *s == Source::Api, i))
                .collect(),
            Pick::NoteType => NOTE_TYPES
                .iter()
                .enumerate()
                .map(|(i, (k, code, label))| entry(*code, label, true, *k == NoteKind::Note, i))
                .collect(),
            Pick::Publish => PUBLISH
                .iter()
                .enumerate()
                .map(|(i, (v, code, label))| {
                    entry(*code, label, true, *v == Visibility::Internal, i)
                })
                .collect(),
            Pick::Category => {
                let default = c.default_category().map(|t| t.id);
                c.categories
                    .iter()
                    .enumerate()
                    .map(|(i, t)| entry(t.id.0, &t.name, t.active, Some(t.id) == default, i))
                    .collect()
            }
            Pick::Plain | Pick::Hours | Pick::Inverted => return None,
        })
    }

    /// A filter value in Autotask's terms as the value Fixpoint's column holds; an
    /// unknown code becomes a value no row has.
    pub fn translate(&self, pick: Pick, value: &Value) -> Value {
        let number = value
            .as_i64()
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()));
        match pick {
            Pick::Plain | Pick::Category => value.clone(),
            Pick::Code(kind) => match number {
                Some(code) => json!(self.id(kind, code).unwrap_or(-1)),
                None => value.clone(),
            },
            Pick::Source => coded_name(&SOURCES, number, |s| s.as_str(), value),
            Pick::NoteType => coded_name(&NOTE_TYPES, number, note_kind_name, value),
            Pick::Publish => coded_name(&PUBLISH, number, visibility_name, value),
            Pick::Hours => match value.as_f64().or_else(|| value.as_str()?.parse().ok()) {
                Some(hours) => json!((hours * 60.0).round() as i64),
                None => value.clone(),
            },
            Pick::Inverted => match value {
                Value::Bool(b) => json!(!b),
                Value::String(s) if s.eq_ignore_ascii_case("true") => json!(false),
                Value::String(s) if s.eq_ignore_ascii_case("false") => json!(true),
                Value::Number(n) => json!(n.as_i64() == Some(0)),
                other => other.clone(),
            },
        }
    }
}

fn coded_name<T: Copy>(
    table: &[(T, i64, &str)],
    number: Option<i64>,
    name: impl Fn(T) -> &'static str,
    value: &Value,
) -> Value {
    match number {
        Some(code) => json!(
            table
                .iter()
                .find(|(_, c, _)| *c == code)
                .map_or("-", |(t, _, _)| name(*t))
        ),
        None => value.clone(),
    }
}

pub fn note_kind_name(kind: NoteKind) -> &'static str {
    match kind {
        NoteKind::Note => "note",
        NoteKind::Email => "email",
        NoteKind::Phone => "phone",
        NoteKind::SiteVisit => "site_visit",
    }
}

pub fn visibility_name(v: Visibility) -> &'static str {
    match v {
        Visibility::Internal => "internal",
        Visibility::External => "external",
    }
}

pub fn code_of<T: PartialEq + Copy>(table: &[(T, i64, &str)], value: T) -> i64 {
    table
        .iter()
        .find(|(t, _, _)| *t == value)
        .map_or(0, |(_, c, _)| *c)
}

pub fn from_code<T: Copy>(table: &[(T, i64, &str)], field: &str, code: i64) -> Result<T, Error> {
    table
        .iter()
        .find(|(_, c, _)| *c == code)
        .map(|(t, _, _)| *t)
        .ok_or_else(|| {
            let allowed: Vec<String> = table.iter().map(|(_, c, l)| format!("{c} ({l})")).collect();
            Error::field(
                field,
                format!("{code} is not a value; use {}", allowed.join(", ")),
            )
        })
}

pub fn at(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| {
        json!(t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
    })
}

/// A ticket as Autotask shows it.
pub fn ticket_json(v: &Vocabulary, view: &TicketView) -> Value {
    let t = &view.ticket;
    let sla = view.sla.as_ref();
    let hours = |m: Option<i64>| m.map_or(Value::Null, |m| json!(m as f64 / 60.0));
    let udfs: Vec<Value> = t
        .custom_fields
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    json!({
        "id": t.id.0,
        "ticketNumber": t.number,
        "title": t.title,
        "description": t.description,
        "companyID": t.company_id.0,
        "companyLocationID": t.location_id.map(|x| x.0),
        "contactID": t.contact_id.map(|x| x.0),
        "status": v.code(CodeKind::Status, t.status_id.0),
        "priority": v.code(CodeKind::Priority, t.priority_id.0),
        "queueID": t.queue_id.map(|x| x.0),
        "issueType": t.issue_type_id.map(|x| x.0),
        "subIssueType": t.sub_issue_type_id.map(|x| x.0),
        "ticketType": v.code(CodeKind::TicketType, t.type_id.0),
        "ticketCategory": t.ticket_category_id.map(|c| c.0),
        "source": code_of(&SOURCES, t.source),
        "assignedResourceID": t.assigned_resource_id.map(|x| x.0),
        "assignedResourceRoleID": t.assigned_role_id.map(|x| x.0),
        "contractID": t.contract_id.map(|x| x.0),
        "serviceLevelAgreementID": t.sla_policy_id.map(|x| x.0),
        "dueDateTime": at(t.due_at),
        "estimatedHours": hours(t.estimated_minutes),
        "resolution": t.resolution,
        "problemTicketId": t.problem_ticket_id.map(|x| x.0),
        "createDate": at(Some(t.created_at)),
        "lastActivityDate": at(Some(t.last_activity_at)),
        "lastTrackedModificationDateTime": at(Some(t.updated_at)),
        "completedDate": at(t.completed_at),
        "firstResponseDateTime": at(t.first_response_at),
        "resolvedDateTime": at(t.resolved_at),
        "firstResponseDueDateTime": at(sla.and_then(|s| s.first_response.as_ref()).map(|c| c.due_at)),
        "resolvedDueDateTime": at(sla.and_then(|s| s.resolution.as_ref()).map(|c| c.due_at)),
        "resolutionPlanDateTime": at(t.resolution_plan_at),
        "resolutionPlanDueDateTime": at(sla.and_then(|s| s.resolution_plan.as_ref()).map(|c| c.due_at)),
        "serviceLevelAgreementHasBeenMet": sla.and_then(|s| s.sla_met),
        "serviceLevelAgreementPausedNextEventHours": sla.and_then(|s| s.paused_next_event_hours),
        "escalationReason": t.escalation_reason,
        "userDefinedFields": udfs,
    })
}

pub use crate::body::Body;

/// A picklist code in a body as the Fixpoint id it stands for.
pub trait CodeField {
    fn code(
        &self,
        v: &Vocabulary,
        kind: CodeKind,
        name: &str,
    ) -> Result<Option<Option<i64>>, Error>;
}

impl CodeField for Body<'_> {
    fn code(
        &self,
        v: &Vocabulary,
        kind: CodeKind,
        name: &str,
    ) -> Result<Option<Option<i64>>, Error> {
        let code = match self.int(name)? {
            Some(Some(code)) => code,
            absent_or_null => return Ok(absent_or_null),
        };
        let id = v.id(kind, code).ok_or_else(|| {
            let allowed = v
                .picklist(Pick::Code(kind))
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    format!(
                        "{} ({})",
                        p["value"].as_str().unwrap_or(""),
                        p["label"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            Error::field(name, format!("{code} is not a value; use {allowed}"))
        })?;
        Ok(Some(Some(id)))
    }
}

fn required<T>(value: Option<Option<T>>, field: &str) -> Result<T, Error> {
    value
        .flatten()
        .ok_or_else(|| Error::field(field, "is required"))
}

/// The create body as Fixpoint's command; omitted status and priority take the
/// catalogue's defaults.
pub fn new_ticket(v: &Vocabulary, body: &Body<'_>) -> Result<NewTicket, Error> {
    let patch = patch(v, body, false)?;
    let title = required(patch.title.clone().map(Some), "title")?;
    let company_id = required(patch.company_id.map(Some), "companyID")?;
    Ok(NewTicket {
        source: Some(patch.source.unwrap_or(Source::Api)),
        ..patch.into_new(title, company_id)
    })
}

/// The fields a body gives, as a patch. `replace` (PUT): a writable field the body
/// leaves out is cleared where Fixpoint allows it to be empty.
pub fn patch(v: &Vocabulary, body: &Body<'_>, replace: bool) -> Result<TicketPatch, Error> {
    let clear = |given: Option<Option<i64>>| match given {
        None if replace => Some(None),
        other => other,
    };
    let text_or_clear = |given: Option<Option<String>>| match given {
        None if replace => Some(None),
        other => other,
    };
    let id = |given: Option<Option<i64>>| given;
    let source = match body.int("source")? {
        Some(Some(code)) => Some(from_code(&SOURCES, "source", code)?),
        _ => None,
    };
    let non_null = |given: Option<Option<i64>>, field: &str| match given {
        Some(None) => Err(Error::field(field, "cannot be null")),
        other => Ok(other.flatten()),
    };
    let custom = body.named_values("userDefinedFields")?.unwrap_or_default();
    Ok(TicketPatch {
        title: match body.text("title")? {
            Some(None) => return Err(Error::field("title", "cannot be null")),
            other => other.flatten(),
        },
        description: text_or_clear(body.text("description")?),
        company_id: non_null(body.int("companyID")?, "companyID")?.map(CompanyId),
        location_id: clear(body.int("companyLocationID")?).map(|o| o.map(LocationId)),
        contact_id: clear(body.int("contactID")?).map(|o| o.map(ContactId)),
        status_id: non_null(body.code(v, CodeKind::Status, "status")?, "status")?.map(StatusId),
        priority_id: non_null(body.code(v, CodeKind::Priority, "priority")?, "priority")?
            .map(PriorityId),
        type_id: non_null(
            body.code(v, CodeKind::TicketType, "ticketType")?,
            "ticketType",
        )?
        .map(TicketTypeId),
        ticket_category_id: non_null(body.int("ticketCategory")?, "ticketCategory")?
            .map(|id| Some(TicketCategoryId(id))),
        queue_id: clear(body.int("queueID")?).map(|o| o.map(QueueId)),
        issue_type_id: clear(body.int("issueType")?).map(|o| o.map(IssueTypeId)),
        sub_issue_type_id: clear(body.int("subIssueType")?).map(|o| o.map(IssueTypeId)),
        categories: None,
        source,
        assigned_resource_id: clear(body.int("assignedResourceID")?).map(|o| o.map(ResourceId)),
        assigned_role_id: clear(body.int("assignedResourceRoleID")?).map(|o| o.map(RoleId)),
        secondary_resource_ids: None,
        contract_id: clear(body.int("contractID")?).map(|o| o.map(ContractId)),
        due_at: match body.instant("dueDateTime")? {
            None if replace => Some(None),
            other => other,
        },
        // The core judges the range; `as` saturates, so no value can overflow.
        estimated_minutes: match body.number("estimatedHours")? {
            None if replace => Some(None),
            other => other.map(|o| o.map(|h| (h * 60.0).round() as i64)),
        },
        resolution: text_or_clear(body.text("resolution")?),
        escalation_reason: text_or_clear(body.text("escalationReason")?),
        problem_ticket_id: id(clear(body.int("problemTicketId")?)).map(|o| o.map(TicketId)),
        custom_fields: (!custom.is_empty()).then_some(custom),
        sla_policy_id: clear(body.int("serviceLevelAgreementID")?).map(|o| o.map(SlaPolicyId)),
        resolution_plan_at: match body.instant("resolutionPlanDateTime")? {
            Some(None) if !replace => {
                return Err(Error::field(
                    "resolutionPlanDateTime",
                    "cannot be cleared: a resolution plan once given stays",
                ));
            }
            other => other.flatten(),
        },
    })
}

pub async fn view(call: &Call, id: i64) -> Result<Option<TicketView>, Error> {
    match service::get(&call.state.store, TicketId(id), call.state.now()).await {
        Ok(view) => Ok(Some(view)),
        Err(e) => {
            let e = fixpoint_server::errors::ApiError::from(e);
            if e.code == fixpoint_core::ErrorCode::NotFound {
                Ok(None)
            } else {
                Err(e.into())
            }
        }
    }
}
