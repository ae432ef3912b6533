//! HaloPSA's reference data over Fixpoint's: Client (companies), Site (locations),
//! Users (contacts), Agent (technicians), Team (queues), Status, Priority,
//! TicketType (catalogue values in HaloPSA's numbering) and Category (the category
//! values in use).

use axum::http::Method;
use axum::response::Response;
use fixpoint_core::ids::{CompanyId, ContactId, LocationId};
use fixpoint_core::parties::{
    Company, CompanyPatch, Contact, ContactPatch, Location, NewCompany, NewContact, NewLocation,
    Resource,
};
use fixpoint_server::service::parties as service;
use fixpoint_store::dialects::CodeKind;
use fixpoint_store::parties::{Page, PartyFilter};
use serde_json::{Map, Value, json};

use super::tickets::{Vocabulary, paging};
use super::{Call, Error, each_record, no_route, not_allowed, ok, parse_id, upserted};
use crate::body::Body;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Client,
    Site,
    Users,
    Agent,
    Team,
    Status,
    Priority,
    TicketType,
    Category,
}

impl Entity {
    const ALL: [(Entity, &'static str, &'static str); 9] = [
        (Self::Client, "client", "clients"),
        (Self::Site, "site", "sites"),
        (Self::Users, "users", "users"),
        (Self::Agent, "agent", "agents"),
        (Self::Team, "team", "teams"),
        (Self::Status, "status", "statuses"),
        (Self::Priority, "priority", "priorities"),
        (Self::TicketType, "tickettype", "tickettypes"),
        (Self::Category, "category", "categories"),
    ];

    pub fn parse(lower: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, path, _)| *path == lower)
            .map(|(r, _, _)| *r)
    }

    /// The list's key in its envelope.
    fn key(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(r, _, _)| *r == self)
            .map_or("records", |(_, _, key)| key)
    }

    /// HaloPSA answers these lists with a bare array unless paging is asked for.
    fn bare_list(self) -> bool {
        matches!(
            self,
            Self::Agent
                | Self::Team
                | Self::Status
                | Self::Priority
                | Self::TicketType
                | Self::Category
        )
    }

    fn writable(self) -> bool {
        matches!(self, Self::Client | Self::Site | Self::Users)
    }
}

pub async fn route(
    call: &Call,
    resource: Entity,
    tail: &[&str],
    rest: &str,
) -> Result<Response, Error> {
    let method = &call.method;
    let allowed = if resource.writable() {
        "GET, POST"
    } else {
        "GET"
    };
    match (tail, method) {
        ([], &Method::GET) => list(call, resource).await,
        ([], &Method::POST) if resource.writable() => upsert(call, resource).await,
        (["me"], &Method::GET) if resource == Entity::Agent => me(call).await,
        ([id], &Method::GET) => {
            let id = parse_id(id)?;
            let records = records(call, resource, Some(id)).await?;
            records
                .into_iter()
                .find(|r| r["id"] == json!(id))
                .map_or_else(
                    || {
                        Err(Error::not_found(format!(
                            "{} {id} does not exist",
                            resource.key()
                        )))
                    },
                    ok,
                )
        }
        ([] | [_], _) => Err(not_allowed(method, rest, allowed)),
        _ => Err(no_route(method, rest)),
    }
}

/// Reference data is small next to tickets: read whole, then paged here.
const REFERENCE_MAX: u64 = 100_000;

fn everything() -> Page {
    Page {
        after: None,
        limit: REFERENCE_MAX,
    }
}

async fn list(call: &Call, resource: Entity) -> Result<Response, Error> {
    let all = records(call, resource, None).await?;
    let paged = call.flag("pageinate") || call.flag("paginate");
    let (offset, size) = paging(call)?;
    let total = all.len();
    let page: Vec<Value> = if resource.bare_list() && !paged && call.param("count").is_none() {
        all
    } else {
        all.into_iter()
            .skip(offset as usize)
            .take(size as usize)
            .collect()
    };
    if resource.bare_list() && !paged {
        return ok(Value::Array(page));
    }
    ok(json!({"record_count": total, resource.key(): page}))
}

/// The records of a list (filtered by the query), or the one with `id`.
async fn records(call: &Call, resource: Entity, id: Option<i64>) -> Result<Vec<Value>, Error> {
    let store = &call.state.store;
    let search = call.param("search").map(str::to_lowercase);
    let active = if call.flag("includeinactive") || id.is_some() {
        None
    } else {
        Some(true)
    };
    let filter = PartyFilter {
        active,
        company_id: call.int("client_id")?.map(CompanyId),
        name_contains: search,
        email: None,
        ids: id.map(|id| vec![id]),
    };
    Ok(match resource {
        Entity::Client => {
            let filter = PartyFilter {
                company_id: None,
                ..filter
            };
            service::companies(store, &filter, &everything())
                .await?
                .iter()
                .map(client_json)
                .collect()
        }
        Entity::Site => {
            let company = filter.company_id;
            let mut sites = service::locations(store, company, &everything()).await?;
            sites.retain(|l| id.is_none_or(|id| l.id.0 == id));
            sites.retain(|l| filter.active.is_none_or(|a| l.active == a));
            if let Some(text) = &filter.name_contains {
                sites.retain(|l| l.name.to_lowercase().contains(text));
            }
            sites.iter().map(site_json).collect()
        }
        Entity::Users => service::contacts(store, &filter, &everything())
            .await?
            .iter()
            .map(user_json)
            .collect(),
        Entity::Agent => {
            let filter = PartyFilter {
                company_id: None,
                ..filter
            };
            service::resources(store, &filter, &everything())
                .await?
                .iter()
                .map(agent_json)
                .collect()
        }
        Entity::Team => {
            let filter = PartyFilter {
                company_id: None,
                ..filter
            };
            service::queues(store, &filter, &everything())
                .await?
                .iter()
                .map(|q| json!({"id": q.id.0, "name": q.name, "inactive": !q.active}))
                .collect()
        }
        Entity::Status | Entity::Priority | Entity::TicketType => {
            let mut conn = store.read().await?;
            let v = Vocabulary::load(call, &mut conn).await?;
            catalogue(&v, resource)
        }
        Entity::Category => {
            let mut conn = store.read().await?;
            fixpoint_store::tickets::categories_in_use(&mut conn)
                .await?
                .into_iter()
                .enumerate()
                .map(|(i, (level, value))| {
                    json!({"id": i + 1, "value": value, "category_name": value, "type_id": level})
                })
                .filter(|c| id.is_none_or(|id| c["id"] == json!(id)))
                .collect()
        }
    })
}

fn catalogue(v: &Vocabulary, resource: Entity) -> Vec<Value> {
    let c = v.catalog();
    let mut out = match resource {
        Entity::Status => {
            let mut statuses: Vec<_> = c.statuses.iter().collect();
            statuses.sort_by_key(|s| s.sort_order);
            statuses
                .iter()
                .map(|s| {
                    json!({
                        "id": v.code(CodeKind::Status, s.id.0),
                        "name": s.name,
                        "type": if s.is_open() { "open" } else { "closed" },
                        "sequence": s.sort_order,
                        "inactive": !s.active,
                    })
                })
                .collect()
        }
        Entity::Priority => c
            .priorities
            .iter()
            .map(|p| {
                json!({
                    "id": v.code(CodeKind::Priority, p.id.0),
                    "priorityid": v.code(CodeKind::Priority, p.id.0),
                    "name": p.name,
                    "ishidden": !p.active,
                })
            })
            .collect(),
        _ => c
            .ticket_types
            .iter()
            .map(|t| {
                json!({
                    "id": v.code(CodeKind::TicketType, t.id.0),
                    "name": t.name,
                    "inactive": !t.active,
                })
            })
            .collect::<Vec<Value>>(),
    };
    if resource != Entity::Status {
        out.sort_by_key(|r| r["id"].as_i64());
    }
    out
}

fn client_json(c: &Company) -> Value {
    json!({
        "id": c.id.0,
        "name": c.name,
        "inactive": !c.active,
        "toplevel_id": c.parent_company_id.map(|p| p.0),
        "phonenumber": c.phone,
        "website": c.website,
    })
}

fn site_json(l: &Location) -> Value {
    json!({
        "id": l.id.0,
        "name": l.name,
        "client_id": l.company_id.0,
        "address": l.address,
        "inactive": !l.active,
    })
}

fn user_json(c: &Contact) -> Value {
    json!({
        "id": c.id.0,
        "name": format!("{} {}", c.first_name, c.last_name),
        "firstname": c.first_name,
        "surname": c.last_name,
        "emailaddress": c.email,
        "phonenumber": c.phone,
        "client_id": c.company_id.0,
        "site_id": Value::Null,
        "inactive": !c.active,
    })
}

fn agent_json(r: &Resource) -> Value {
    json!({
        "id": r.id.0,
        "name": format!("{} {}", r.first_name, r.last_name),
        "firstname": r.first_name,
        "surname": r.last_name,
        "email": r.email,
        "inactive": !r.active,
        "is_agent": true,
    })
}

/// `/api/Agent/me`: the technician the API client acts as; a client created without
/// one is shown as itself, with id 0.
async fn me(call: &Call) -> Result<Response, Error> {
    let caller = call.caller();
    match caller.resource_id {
        Some(id) => ok(agent_json(&service::resource(&call.state.store, id).await?)),
        None => ok(json!({
            "id": 0,
            "name": caller.name,
            "firstname": caller.name,
            "surname": "",
            "email": Value::Null,
            "inactive": false,
            "is_agent": true,
            "is_api_client": true,
        })),
    }
}

async fn upsert(call: &Call, resource: Entity) -> Result<Response, Error> {
    call.writer()?;
    let records = call.records()?;
    let done = each_record(&records, |record| async move {
        match resource {
            Entity::Client => upsert_client(call, record).await,
            Entity::Site => upsert_site(call, record).await,
            _ => upsert_user(call, record).await,
        }
    })
    .await?;
    let any_created = done.iter().any(|(_, created)| *created);
    let shown = done.into_iter().map(|(value, _)| value).collect();
    upserted(resource.key(), shown, any_created)
}

fn existing_id(body: &Body<'_>) -> Result<Option<i64>, Error> {
    Ok(body.int("id")?.flatten().filter(|id| *id > 0))
}

fn active(body: &Body<'_>) -> Result<Option<bool>, Error> {
    Ok(body.boolean("inactive")?.map(|inactive| !inactive))
}

async fn upsert_client(call: &Call, record: &Map<String, Value>) -> Result<(Value, bool), Error> {
    let body = Body(record);
    let store = &call.state.store;
    let parent = body.int("toplevel_id")?.map(|o| o.map(CompanyId));
    match existing_id(&body)? {
        Some(id) => {
            let patch = CompanyPatch {
                name: body.text("name")?.flatten(),
                parent_company_id: parent,
                phone: body.text("phonenumber")?,
                website: body.text("website")?,
                active: active(&body)?,
            };
            let company = service::update_company(store, CompanyId(id), patch).await?;
            Ok((client_json(&company), false))
        }
        None => {
            let new = NewCompany {
                name: body
                    .text("name")?
                    .flatten()
                    .ok_or_else(|| Error::field("name", "is required"))?,
                parent_company_id: parent.flatten(),
                phone: body.text("phonenumber")?.flatten(),
                website: body.text("website")?.flatten(),
                active: active(&body)?.unwrap_or(true),
            };
            Ok((
                client_json(&service::create_company(store, new).await?),
                true,
            ))
        }
    }
}

async fn upsert_site(call: &Call, record: &Map<String, Value>) -> Result<(Value, bool), Error> {
    let body = Body(record);
    if existing_id(&body)?.is_some() {
        return Err(Error::field(
            "id",
            "Fixpoint does not change sites through this API; create a new one",
        ));
    }
    let company = body
        .int("client_id")?
        .flatten()
        .ok_or_else(|| Error::field("client_id", "is required"))?;
    let new = NewLocation {
        name: body
            .text("name")?
            .flatten()
            .ok_or_else(|| Error::field("name", "is required"))?,
        address: body.text("address")?.flatten(),
        active: active(&body)?.unwrap_or(true),
    };
    let site = service::create_location(&call.state.store, CompanyId(company), new).await?;
    Ok((site_json(&site), true))
}

/// A user's first and last name: `firstname`/`surname`, or `name` split at its last
/// space (a one-word name is the first name, with `-` as the surname Fixpoint needs).
fn person(body: &Body<'_>) -> Result<(Option<String>, Option<String>), Error> {
    let first = body.text("firstname")?.flatten();
    let last = body.text("surname")?.flatten();
    if first.is_some() || last.is_some() {
        return Ok((first, last));
    }
    Ok(match body.text("name")?.flatten() {
        None => (None, None),
        Some(name) => match name.trim().rsplit_once(' ') {
            Some((first, last)) => (Some(first.trim().to_owned()), Some(last.to_owned())),
            None => (Some(name.trim().to_owned()), Some("-".to_owned())),
        },
    })
}

async fn upsert_user(call: &Call, record: &Map<String, Value>) -> Result<(Value, bool), Error> {
    let body = Body(record);
    let store = &call.state.store;
    let (first, last) = person(&body)?;
    let site = body.int("site_id")?.flatten().map(LocationId);
    let company = match (body.int("client_id")?.flatten(), site) {
        (Some(company), _) => Some(CompanyId(company)),
        (None, Some(site)) => {
            let mut conn = store.read().await?;
            let location = fixpoint_store::parties::location(&mut conn, site)
                .await?
                .ok_or_else(|| Error::field("site_id", format!("there is no site {site}")))?;
            Some(location.company_id)
        }
        (None, None) => None,
    };
    let email = body.text("emailaddress")?;
    let phone = match body.text("phonenumber")? {
        None => body.text("phonenumber_preferred")?,
        given => given,
    };
    match existing_id(&body)? {
        Some(id) => {
            let patch = ContactPatch {
                company_id: company,
                first_name: first,
                last_name: last,
                email,
                phone,
                language: None,
                active: active(&body)?,
            };
            let contact = service::update_contact(store, ContactId(id), patch).await?;
            Ok((user_json(&contact), false))
        }
        None => {
            let company =
                company.ok_or_else(|| Error::field("client_id", "is required (or site_id)"))?;
            let new = NewContact {
                company_id: company,
                first_name: first.unwrap_or_default(),
                last_name: last.unwrap_or_default(),
                email: email.flatten(),
                phone: phone.flatten(),
                language: None,
                active: active(&body)?.unwrap_or(true),
            };
            Ok((user_json(&service::create_contact(store, new).await?), true))
        }
    }
}
