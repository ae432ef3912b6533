//! The entities, their verbs, and each one's records in Autotask's shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fixpoint_core::ids::*;
use fixpoint_core::parties::{
    CompanyPatch, ContactPatch, ContractPatch, NamedPatch, NewCompany, NewContact, NewContract,
    NewNamed, ResourcePatch,
};
use fixpoint_core::ticket::HistoryEntry;
use fixpoint_core::time_entry::{
    NewNote, NewTimeEntry, Note, NoteKind, NotePatch, TimeEntry, TimeEntryPatch, Visibility,
};
use fixpoint_server::service::parties as party_service;
use fixpoint_server::service::tickets as service;
use fixpoint_store::parties::NamedTable;
use fixpoint_store::records::Table;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::{self, Spec};
use super::tickets::{self, Body, NOTE_TYPES, PUBLISH, Vocabulary, at, code_of, from_code};
use super::{Call, Error};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Tickets,
    TicketNotes,
    TimeEntries,
    Companies,
    Contacts,
    Resources,
    Roles,
    Contracts,
    ServiceLevelAgreements,
    TicketCategories,
    TicketHistory,
}

pub struct Verbs {
    pub create: bool,
    pub update: bool,
    pub delete: bool,
}

impl Entity {
    const ALL: [Entity; 11] = [
        Self::Tickets,
        Self::TicketNotes,
        Self::TimeEntries,
        Self::Companies,
        Self::Contacts,
        Self::Resources,
        Self::Roles,
        Self::Contracts,
        Self::ServiceLevelAgreements,
        Self::TicketCategories,
        Self::TicketHistory,
    ];

    pub fn parse(lower: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(lower))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Tickets => "Tickets",
            Self::TicketNotes => "TicketNotes",
            Self::TimeEntries => "TimeEntries",
            Self::Companies => "Companies",
            Self::Contacts => "Contacts",
            Self::Resources => "Resources",
            Self::Roles => "Roles",
            Self::Contracts => "Contracts",
            Self::ServiceLevelAgreements => "ServiceLevelAgreements",
            Self::TicketCategories => "TicketCategories",
            Self::TicketHistory => "TicketHistory",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Self::Tickets => "Ticket",
            Self::TicketNotes => "TicketNote",
            Self::TimeEntries => "TimeEntry",
            Self::Companies => "Company",
            Self::Contacts => "Contact",
            Self::Resources => "Resource",
            Self::Roles => "Role",
            Self::Contracts => "Contract",
            Self::ServiceLevelAgreements => "ServiceLevelAgreement",
            Self::TicketCategories => "TicketCategory",
            Self::TicketHistory => "TicketHistory",
        }
    }

    pub fn fields(self) -> &'static [Spec] {
        match self {
            Self::Tickets => fields::TICKET,
            Self::TicketNotes => fields::NOTE,
            Self::TimeEntries => fields::TIME_ENTRY,
            Self::Companies => fields::COMPANY,
            Self::Contacts => fields::CONTACT,
            Self::Resources => fields::RESOURCE,
            Self::Roles => fields::NAMED,
            Self::Contracts => fields::CONTRACT,
            Self::ServiceLevelAgreements => fields::SLA,
            Self::TicketCategories => fields::CATEGORY,
            Self::TicketHistory => fields::HISTORY,
        }
    }

    /// The table a filter runs over (tickets have their own list).
    pub fn table(self) -> Option<Table> {
        Some(match self {
            Self::Tickets => return None,
            Self::TicketNotes => Table::Notes,
            Self::TimeEntries => Table::TimeEntries,
            Self::Companies => Table::Companies,
            Self::Contacts => Table::Contacts,
            Self::Resources => Table::Resources,
            Self::Roles => Table::Roles,
            Self::Contracts => Table::Contracts,
            Self::ServiceLevelAgreements => Table::SlaPolicies,
            Self::TicketCategories => Table::TicketCategories,
            Self::TicketHistory => Table::TicketHistory,
        })
    }

    /// What Autotask allows on the entity (and Fixpoint serves).
    pub fn allows(self) -> Verbs {
        let (create, update, delete) = match self {
            Self::Tickets => (true, true, false),
            // Notes stay, as in Autotask; logged time may be corrected or withdrawn.
            Self::TicketNotes => (true, true, false),
            Self::TimeEntries => (true, true, true),
            Self::Companies => (true, true, false),
            Self::Contacts => (true, true, false),
            Self::Resources => (false, true, false),
            Self::Roles => (true, true, false),
            Self::Contracts => (true, true, false),
            // Categories are set up by an admin in Fixpoint's API, as in Autotask's UI.
            Self::ServiceLevelAgreements | Self::TicketCategories | Self::TicketHistory => {
                (false, false, false)
            }
        };
        Verbs {
            create,
            update,
            delete,
        }
    }

    pub fn verbs(self) -> String {
        let v = self.allows();
        let mut out = vec!["GET", "query"];
        if v.create {
            out.push("POST");
        }
        if v.update {
            out.extend(["PATCH", "PUT"]);
        }
        if v.delete {
            out.push("DELETE");
        }
        out.join(", ")
    }

    /// A child collection under this entity (`Tickets/{id}/Notes`), with the field
    /// that names the parent.
    pub fn child(self, lower: &str) -> Option<Entity> {
        match (self, lower) {
            (Self::Tickets, "notes" | "ticketnotes") => Some(Self::TicketNotes),
            (Self::Tickets, "timeentries") => Some(Self::TimeEntries),
            (Self::Companies, "contacts") => Some(Self::Contacts),
            _ => None,
        }
    }

    /// The field of a child that names its parent.
    pub fn parent_field(self) -> &'static str {
        match self {
            Self::Contacts => "companyID",
            _ => "ticketID",
        }
    }

    /// Whether a record keeps its parent for life (a note never moves to another
    /// ticket; a contact may move to another company).
    fn parent_is_fixed(self) -> bool {
        matches!(self, Self::TicketNotes | Self::TimeEntries)
    }
}

fn body_object(call: &Call) -> Result<serde_json::Map<String, Value>, Error> {
    match call.json()? {
        Value::Object(o) => Ok(o),
        _ => Err(Error::bad_request("the body must be a JSON object")),
    }
}

fn created(id: i64) -> Result<Response, Error> {
    Ok(axum::Json(json!({"itemId": id, "id": id})).into_response())
}

fn not_allowed(call: &Call, entity: Entity) -> Error {
    Error::not_allowed(entity, &call.method)
}

/// `POST /{Entity}` or `POST /{Parent}/{id}/{Child}`.
pub async fn create(
    call: &Call,
    entity: Entity,
    under: Option<(Entity, i64)>,
) -> Result<Response, Error> {
    if !entity.allows().create {
        return Err(not_allowed(call, entity));
    }
    let caller = call.writer()?;
    let actor = caller.actor();
    let mut object = body_object(call)?;
    if let Some((_, parent)) = under {
        object.insert(entity.parent_field().to_owned(), json!(parent));
    }
    let body = Body(&object);
    let store = &call.state.store;
    let now = call.state.now();
    let id = match entity {
        Entity::Tickets => {
            let v = Vocabulary::load(call).await?;
            let new = tickets::new_ticket(&v, &body)?;
            match service::create(store, &actor, new, None, now).await? {
                service::Created::New(outcome) => outcome.view.ticket.id.0,
                service::Created::Replayed(_) => unreachable!("no idempotency key was given"),
            }
        }
        Entity::TicketNotes => {
            let ticket = body
                .int("ticketID")?
                .flatten()
                .ok_or_else(|| Error::field("ticketID", "is required"))?;
            let new = NewNote {
                title: body.text("title")?.flatten(),
                body: body.text("description")?.flatten().unwrap_or_default(),
                visibility: note_visibility(&body)?.unwrap_or(Visibility::Internal),
                kind: note_kind(&body)?.unwrap_or_default(),
                contact_id: body.int("createdByContactID")?.flatten().map(ContactId),
                ..Default::default()
            };
            service::add_note(store, &actor, TicketId(ticket), new, now)
                .await?
                .id
                .0
        }
        Entity::TimeEntries => {
            let ticket = body
                .int("ticketID")?
                .flatten()
                .ok_or_else(|| Error::field("ticketID", "is required"))?;
            let time = TimeFields::read(&body)?;
            let new = NewTimeEntry {
                resource_id: ResourceId(
                    time.resource
                        .ok_or_else(|| Error::field("resourceID", "is required"))?,
                ),
                started_at: time.started_at.flatten(),
                ended_at: time.ended_at.flatten(),
                minutes: time.minutes,
                billable: time.billable.unwrap_or(true),
                notes: time.notes.flatten(),
            };
            service::log_time(store, &actor, TicketId(ticket), new, now)
                .await?
                .id
                .0
        }
        Entity::Companies => {
            let new = NewCompany {
                name: body.text("companyName")?.flatten().unwrap_or_default(),
                parent_company_id: body.int("parentCompanyID")?.flatten().map(CompanyId),
                phone: body.text("phone")?.flatten(),
                website: body.text("webAddress")?.flatten(),
                active: body.boolean("isActive")?.unwrap_or(true),
            };
            party_service::create_company(store, new).await?.id.0
        }
        Entity::Contacts => {
            let new = NewContact {
                company_id: CompanyId(
                    body.int("companyID")?
                        .flatten()
                        .ok_or_else(|| Error::field("companyID", "is required"))?,
                ),
                first_name: body.text("firstName")?.flatten().unwrap_or_default(),
                last_name: body.text("lastName")?.flatten().unwrap_or_default(),
                email: body.text("emailAddress")?.flatten(),
                phone: body.text("phone")?.flatten(),
                language: None,
                active: body.boolean("isActive")?.unwrap_or(true),
            };
            party_service::create_contact(store, new).await?.id.0
        }
        Entity::Roles => {
            let new = NewNamed {
                name: body.text("name")?.flatten().unwrap_or_default(),
                active: body.boolean("isActive")?.unwrap_or(true),
            };
            party_service::create_named(store, NamedTable::Roles, new).await?
        }
        Entity::Contracts => {
            let new = NewContract {
                company_id: CompanyId(
                    body.int("companyID")?
                        .flatten()
                        .ok_or_else(|| Error::field("companyID", "is required"))?,
                ),
                name: body.text("contractName")?.flatten().unwrap_or_default(),
                sla_policy_id: body.int("serviceLevelAgreementID")?.flatten(),
                active: body.boolean("status")?.unwrap_or(true),
            };
            party_service::create_contract(store, new).await?.id.0
        }
        _ => return Err(not_allowed(call, entity)),
    };
    created(id)
}

/// `PATCH`/`PUT /{Entity}` (id in the body) or `/{Entity}/{id}`.
pub async fn update(
    call: &Call,
    entity: Entity,
    path_id: Option<i64>,
    under: Option<(Entity, i64)>,
) -> Result<Response, Error> {
    if !entity.allows().update {
        return Err(not_allowed(call, entity));
    }
    let caller = call.writer()?;
    let object = body_object(call)?;
    let body = Body(&object);
    let id = match (path_id, body.int("id")?.flatten()) {
        (Some(path), Some(given)) if path != given => {
            return Err(Error::field(
                "id",
                format!("{given} differs from the id in the path ({path})"),
            ));
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(Error::field("id", "is required to update")),
    };
    check_parent(call, entity, id, under, &body).await?;
    let replace = call.method == axum::http::Method::PUT;
    let store = &call.state.store;
    let actor = caller.actor();
    let now = call.state.now();
    match entity {
        Entity::Tickets => {
            let v = Vocabulary::load(call).await?;
            let patch = tickets::patch(&v, &body, replace)?;
            service::update(store, &actor, TicketId(id), patch, None, now).await?;
        }
        Entity::TicketNotes => {
            let patch = NotePatch {
                title: body.text("title")?.or(replace.then_some(None)),
                // A null description is a blank one, which the core refuses by name.
                body: body.text("description")?.map(Option::unwrap_or_default),
                visibility: note_visibility(&body)?,
                kind: note_kind(&body)?,
            };
            service::update_note(store, &actor, NoteId(id), patch, now).await?;
        }
        Entity::TimeEntries => {
            let time = TimeFields::read(&body)?;
            let patch = TimeEntryPatch {
                resource_id: time.resource.map(ResourceId),
                started_at: time.started_at,
                ended_at: time.ended_at,
                minutes: time.minutes,
                billable: time.billable,
                notes: time.notes.or(replace.then_some(None)),
            };
            service::update_time_entry(store, &actor, TimeEntryId(id), patch, now).await?;
        }
        Entity::Contracts => {
            let patch = ContractPatch {
                name: body.text("contractName")?.map(Option::unwrap_or_default),
                sla_policy_id: body
                    .int("serviceLevelAgreementID")?
                    .or(replace.then_some(None)),
                active: body.boolean("status")?,
            };
            party_service::update_contract(store, ContractId(id), patch).await?;
        }
        Entity::Companies => {
            let patch = CompanyPatch {
                name: body.text("companyName")?.flatten(),
                parent_company_id: body
                    .int("parentCompanyID")?
                    .map(|o| o.map(CompanyId))
                    .or(replace.then_some(None)),
                phone: body.text("phone")?.or(replace.then_some(None)),
                website: body.text("webAddress")?.or(replace.then_some(None)),
                active: body.boolean("isActive")?,
            };
            party_service::update_company(store, CompanyId(id), patch).await?;
        }
        Entity::Contacts => {
            let patch = ContactPatch {
                company_id: body.int("companyID")?.flatten().map(CompanyId),
                first_name: body.text("firstName")?.flatten(),
                last_name: body.text("lastName")?.flatten(),
                email: body.text("emailAddress")?.or(replace.then_some(None)),
                phone: body.text("phone")?.or(replace.then_some(None)),
                language: None,
                active: body.boolean("isActive")?,
            };
            party_service::update_contact(store, ContactId(id), patch).await?;
        }
        Entity::Resources => {
            caller.require_admin()?;
            let patch = ResourcePatch {
                first_name: body.text("firstName")?.flatten(),
                last_name: body.text("lastName")?.flatten(),
                email: body.text("email")?.flatten(),
                active: body.boolean("isActive")?,
            };
            party_service::update_resource(store, ResourceId(id), patch).await?;
        }
        Entity::Roles => {
            let patch = NamedPatch {
                name: body.text("name")?.flatten(),
                active: body.boolean("isActive")?,
            };
            party_service::update_role(store, RoleId(id), patch).await?;
        }
        _ => return Err(not_allowed(call, entity)),
    }
    created(id)
}

/// `DELETE /{Entity}/{id}` or `/{Parent}/{pid}/{Child}/{id}` → `{"itemId": id}`.
pub async fn delete(
    call: &Call,
    entity: Entity,
    id: i64,
    under: Option<(Entity, i64)>,
) -> Result<Response, Error> {
    if !entity.allows().delete {
        return Err(not_allowed(call, entity));
    }
    let caller = call.writer()?;
    let empty = serde_json::Map::new();
    check_parent(call, entity, id, under, &Body(&empty)).await?;
    let store = &call.state.store;
    match entity {
        Entity::TimeEntries => {
            service::delete_time_entry(store, &caller.actor(), TimeEntryId(id), call.state.now())
                .await?
        }
        _ => return Err(not_allowed(call, entity)),
    }
    Ok(axum::Json(json!({"itemId": id})).into_response())
}

/// Under a parent's path (`/Tickets/7/Notes/12`) the record must be that parent's;
/// and a record whose parent is fixed may not be given another in the body.
async fn check_parent(
    call: &Call,
    entity: Entity,
    id: i64,
    under: Option<(Entity, i64)>,
    body: &Body<'_>,
) -> Result<(), Error> {
    let field = entity.parent_field();
    let moved_to = if entity.parent_is_fixed() {
        body.int(field)?.flatten()
    } else {
        None
    };
    if under.is_none() && moved_to.is_none() {
        return Ok(());
    }
    let Some(record) = records(call, entity, &[id]).await?.pop() else {
        return Err(Error::new(
            StatusCode::NOT_FOUND,
            format!("there is no {} {id}", entity.singular()),
        ));
    };
    let owner = &record[field];
    if let Some((parent_entity, parent)) = under
        && *owner != json!(parent)
    {
        return Err(Error::new(
            StatusCode::NOT_FOUND,
            format!(
                "{} {parent} has no {} {id}",
                parent_entity.singular(),
                entity.singular()
            ),
        ));
    }
    match moved_to {
        Some(other) if *owner != json!(other) => Err(Error::field(
            field,
            format!(
                "a {} stays with the record it was made for ({owner}); {other} cannot be given",
                entity.singular()
            ),
        )),
        _ => Ok(()),
    }
}

fn note_kind(body: &Body) -> Result<Option<NoteKind>, Error> {
    body.int("noteType")?
        .flatten()
        .map(|code| from_code(&NOTE_TYPES, "noteType", code))
        .transpose()
}

fn note_visibility(body: &Body) -> Result<Option<Visibility>, Error> {
    body.int("publish")?
        .flatten()
        .map(|code| from_code(&PUBLISH, "publish", code))
        .transpose()
}

/// A time entry's members as a body gives them, read alike for create and update.
struct TimeFields {
    resource: Option<i64>,
    /// `startDateTime`, else `dateWorked` (a day, or a day and time).
    started_at: Option<Option<Timestamp>>,
    ended_at: Option<Option<Timestamp>>,
    minutes: Option<i64>,
    billable: Option<bool>,
    notes: Option<Option<String>>,
}

impl TimeFields {
    fn read(body: &Body) -> Result<Self, Error> {
        let started_at = match body.instant("startDateTime")? {
            Some(Some(at)) => Some(Some(at)),
            start => body.instant("dateWorked")?.or(start),
        };
        Ok(Self {
            resource: body.int("resourceID")?.flatten(),
            started_at,
            ended_at: body.instant("endDateTime")?,
            // The core judges the length; `as` saturates, so no value can overflow.
            minutes: body
                .number("hoursWorked")?
                .flatten()
                .map(|h| (h * 60.0).round() as i64),
            billable: body.boolean("isNonBillable")?.map(|non| !non),
            notes: body.text("summaryNotes")?,
        })
    }
}

/// `GET /{Entity}/{id}`: `{"item": …}`, or `{"item": null}` for an unknown id.
pub async fn get(call: &Call, entity: Entity, id: i64) -> Result<Response, Error> {
    get_under(call, entity, id, None).await
}

pub async fn get_under(
    call: &Call,
    entity: Entity,
    id: i64,
    under: Option<(Entity, i64)>,
) -> Result<Response, Error> {
    let mut items = if entity == Entity::Tickets {
        let v = Vocabulary::load(call).await?;
        tickets::view(call, id)
            .await?
            .map(|view| vec![tickets::ticket_json(&v, &view)])
            .unwrap_or_default()
    } else {
        records(call, entity, &[id]).await?
    };
    if let Some((_, parent)) = under {
        items.retain(|item| item[entity.parent_field()] == json!(parent));
    }
    Ok(axum::Json(json!({"item": items.pop()})).into_response())
}

/// Records of a non-ticket entity by id, in id order, in Autotask's shape.
pub async fn records(call: &Call, entity: Entity, ids: &[i64]) -> Result<Vec<Value>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let store = &call.state.store;
    let mut conn = store.read().await?;
    let filter = fixpoint_store::parties::PartyFilter {
        ids: Some(ids.to_vec()),
        ..Default::default()
    };
    let page = fixpoint_store::parties::Page {
        after: None,
        limit: ids.len() as u64,
    };
    use fixpoint_store::{parties as p, tickets as t, work as w};
    Ok(match entity {
        Entity::Tickets => Vec::new(),
        Entity::TicketNotes => w::notes_by_ids(&mut conn, ids)
            .await?
            .iter()
            .map(note_json)
            .collect(),
        Entity::TimeEntries => w::time_entries_by_ids(&mut conn, ids)
            .await?
            .iter()
            .map(time_entry_json)
            .collect(),
        Entity::Companies => p::companies(&mut conn, &filter, &page)
            .await?
            .iter()
            .map(|c| {
                json!({
                    "id": c.id.0, "companyName": c.name,
                    "parentCompanyID": c.parent_company_id.map(|x| x.0),
                    "phone": c.phone, "webAddress": c.website, "isActive": c.active,
                    "createDate": at(Some(c.created_at)), "companyType": 1,
                })
            })
            .collect(),
        Entity::Contacts => p::contacts(&mut conn, &filter, &page)
            .await?
            .iter()
            .map(|c| {
                json!({
                    "id": c.id.0, "companyID": c.company_id.0, "firstName": c.first_name,
                    "lastName": c.last_name, "emailAddress": c.email, "phone": c.phone,
                    "isActive": i64::from(c.active),
                })
            })
            .collect(),
        Entity::Resources => p::resources(&mut conn, &filter, &page)
            .await?
            .iter()
            .map(|r| {
                json!({
                    "id": r.id.0, "firstName": r.first_name, "lastName": r.last_name,
                    "email": r.email, "userName": r.email, "isActive": r.active,
                    "resourceType": "Employee",
                })
            })
            .collect(),
        Entity::Roles => p::roles(&mut conn, &filter, &page)
            .await?
            .iter()
            .map(|r| json!({"id": r.id.0, "name": r.name, "isActive": r.active, "description": null}))
            .collect(),
        Entity::Contracts => p::contracts(&mut conn, &filter, &page)
            .await?
            .iter()
            .map(|c| {
                json!({
                    "id": c.id.0, "companyID": c.company_id.0, "contractName": c.name,
                    "serviceLevelAgreementID": c.sla_policy_id, "status": i64::from(c.active),
                })
            })
            .collect(),
        Entity::ServiceLevelAgreements => {
            fixpoint_server::service::tickets::SlaSetup::load(store, &mut conn)
                .await?
                .policies()
                .iter()
                .filter(|p| ids.contains(&p.id.0))
                .map(|p| {
                    json!({"id": p.id.0, "name": p.name, "isActive": true,
                           "description": if p.is_default { "the default policy" } else { "" }})
                })
                .collect()
        }
        Entity::TicketCategories => {
            fixpoint_server::service::tickets::SlaSetup::load(store, &mut conn)
                .await?
                .catalog()
                .categories
                .iter()
                .filter(|c| ids.contains(&c.id.0))
                .map(|c| {
                    json!({"id": c.id.0, "name": c.name, "nickname": c.name,
                           "isActive": c.active, "isGlobalDefault": c.is_default,
                           "isApiOnly": false, "displayColorRGB": null})
                })
                .collect()
        }
        Entity::TicketHistory => t::history_by_ids(&mut conn, ids)
            .await?
            .iter()
            .map(history_json)
            .collect(),
    })
}

pub fn note_json(n: &Note) -> Value {
    json!({
        "id": n.id.0, "ticketID": n.ticket_id.0, "title": n.title, "description": n.body,
        "noteType": code_of(&NOTE_TYPES, n.kind), "publish": code_of(&PUBLISH, n.visibility),
        "createDateTime": at(Some(n.created_at)), "lastActivityDate": at(Some(n.created_at)),
        "creatorResourceID": null, "createdByContactID": n.contact_id.map(|c| c.0),
    })
}

fn time_entry_json(e: &TimeEntry) -> Value {
    let hours = e.minutes as f64 / 60.0;
    json!({
        "id": e.id.0, "ticketID": e.ticket_id.0, "resourceID": e.resource_id.0, "roleID": null,
        "dateWorked": at(Some(e.started_at.unwrap_or(e.created_at))),
        "startDateTime": at(e.started_at), "endDateTime": at(e.ended_at),
        "hoursWorked": hours, "hoursToBill": if e.billable { hours } else { 0.0 },
        "summaryNotes": e.notes, "internalNotes": null, "isNonBillable": !e.billable,
        "billingCodeID": null, "createDateTime": at(Some(e.created_at)),
    })
}

fn history_json(h: &HistoryEntry) -> Value {
    let detail = format!(
        "{}: {} → {}",
        h.field,
        h.old_value.as_deref().unwrap_or(""),
        h.new_value.as_deref().unwrap_or("")
    );
    json!({
        "id": h.id, "ticketID": h.ticket_id, "date": at(Some(h.at)), "action": h.field,
        "detail": detail, "resourceID": null, "actor": h.actor,
    })
}
