//! `/api/Tickets`: the list with HaloPSA's filters and paging, get, the array upsert,
//! delete; tickets in HaloPSA's field names, numbering and SLA fields.

use std::collections::HashMap;

use fixpoint_core::catalog::{Catalog, SlaClock, StatusCategory};
use fixpoint_core::filter::{Sort, SortKey};
use fixpoint_core::ids::*;
use fixpoint_core::query::{Column, Field, Node, Scalar, Test};
use fixpoint_core::sla::SlaState;
use fixpoint_core::ticket::{CATEGORY_LEVELS, NewTicket, Source, TicketPatch};
use fixpoint_server::service::tickets::{self as service, SlaSetup, TicketView, Total};
use fixpoint_store::dialects::CodeKind;
use fixpoint_store::parties::{Page, PartyFilter};
use fixpoint_store::tickets::Cursor;
use fixpoint_store::{Conn, parties, work};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{Call, DIALECT, Error, actions, each_record, ok, upserted};
use crate::body::{Body, Given};
use crate::numbering::Numbering;

/// A page of a list when the client names no size.
pub const PAGE_SIZE_DEFAULT: u64 = 50;
/// The most records one answer carries; `record_count` tells a client there are more.
pub const PAGE_SIZE_MAX: u64 = 1000;

/// The catalogue, SLA set-up and HaloPSA's numbering, for one request.
pub struct Vocabulary {
    pub setup: SlaSetup,
    numbering: Numbering,
}

impl Vocabulary {
    pub async fn load(call: &Call, conn: &mut Conn) -> Result<Self, Error> {
        Ok(Self {
            setup: SlaSetup::load(&call.state.store, conn).await?,
            numbering: Numbering::load(conn, DIALECT).await?,
        })
    }

    pub fn catalog(&self) -> &Catalog {
        self.setup.catalog()
    }

    pub fn code(&self, kind: CodeKind, id: i64) -> i64 {
        self.numbering.code(kind, id)
    }

    /// The Fixpoint id of a HaloPSA number, or a 400 naming the field and the
    /// numbers there are.
    pub fn id(&self, kind: CodeKind, field: &str, code: i64) -> Result<i64, Error> {
        self.numbering
            .id(self.catalog(), kind, code)
            .ok_or_else(|| {
                let c = self.catalog();
                let names: Vec<(i64, &str)> = match kind {
                    CodeKind::Status => c
                        .statuses
                        .iter()
                        .map(|s| (s.id.0, s.name.as_str()))
                        .collect(),
                    CodeKind::Priority => c
                        .priorities
                        .iter()
                        .map(|p| (p.id.0, p.name.as_str()))
                        .collect(),
                    CodeKind::TicketType => c
                        .ticket_types
                        .iter()
                        .map(|t| (t.id.0, t.name.as_str()))
                        .collect(),
                };
                let allowed: Vec<String> = names
                    .iter()
                    .map(|(id, name)| format!("{} ({name})", self.code(kind, *id)))
                    .collect();
                Error::field(
                    field,
                    format!("{code} is not a value; use {}", allowed.join(", ")),
                )
            })
    }

    pub fn status_name(&self, id: StatusId) -> &str {
        self.catalog().status(id).map_or("", |s| s.name.as_str())
    }
}

/// The names a page of tickets shows beside its ids, read in one query per kind.
#[derive(Default)]
pub struct Names {
    clients: HashMap<CompanyId, String>,
    sites: HashMap<LocationId, String>,
    users: HashMap<ContactId, (String, Option<String>)>,
    agents: HashMap<ResourceId, String>,
    teams: HashMap<QueueId, String>,
    /// Billable and non-billable minutes per ticket.
    minutes: HashMap<TicketId, (i64, i64)>,
}

impl Names {
    pub async fn load(conn: &mut Conn, views: &[TicketView]) -> Result<Self, Error> {
        fn ids<T: Copy + Ord>(
            views: &[TicketView],
            pick: impl Fn(&TicketView) -> Option<T>,
        ) -> Vec<T> {
            let mut out: Vec<T> = views.iter().filter_map(pick).collect();
            out.sort();
            out.dedup();
            out
        }
        let filter = |ids: Vec<i64>| PartyFilter {
            ids: Some(ids),
            ..Default::default()
        };
        let all = Page {
            after: None,
            limit: u64::MAX >> 1,
        };
        let mut names = Names::default();
        let companies = ids(views, |v| Some(v.ticket.company_id.0));
        if !companies.is_empty() {
            for c in parties::companies(conn, &filter(companies), &all).await? {
                names.clients.insert(c.id, c.name);
            }
        }
        for l in parties::locations_by_id(conn, &ids(views, |v| v.ticket.location_id)).await? {
            names.sites.insert(l.id, l.name);
        }
        let contacts = ids(views, |v| v.ticket.contact_id.map(|c| c.0));
        if !contacts.is_empty() {
            for c in parties::contacts(conn, &filter(contacts), &all).await? {
                let name = format!("{} {}", c.first_name, c.last_name);
                names.users.insert(c.id, (name, c.email));
            }
        }
        let agents = ids(views, |v| v.ticket.assigned_resource_id);
        for r in parties::resources_by_id(conn, &agents).await? {
            names
                .agents
                .insert(r.id, format!("{} {}", r.first_name, r.last_name));
        }
        let teams = ids(views, |v| v.ticket.queue_id.map(|q| q.0));
        if !teams.is_empty() {
            for q in parties::queues(conn, &filter(teams), &all).await? {
                names.teams.insert(q.id, q.name);
            }
        }
        let tickets: Vec<TicketId> = views.iter().map(|v| v.ticket.id).collect();
        names.minutes = work::minutes_by_ticket(conn, &tickets).await?;
        Ok(names)
    }
}

pub fn at(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| {
        json!(t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
    })
}

/// HaloPSA's SLA states (seed 003): 0 not started, 1 running, 2 paused, 3 met,
/// 4 breached.
fn sla_state(state: SlaState) -> i64 {
    match state {
        SlaState::NotStarted => 0,
        SlaState::Running | SlaState::AtRisk => 1,
        SlaState::Paused => 2,
        SlaState::Met => 3,
        SlaState::Breached => 4,
    }
}

pub fn hours(minutes: i64) -> f64 {
    (minutes as f64 / 60.0 * 10_000.0).round() / 10_000.0
}

/// HaloPSA's ticket sources; Fixpoint keeps its own names.
fn source_name(source: Source) -> &'static str {
    match source {
        Source::Portal => "Portal",
        Source::Email => "Email",
        Source::Phone => "Phone",
        Source::Agent => "Agent",
        Source::Api => "API",
        Source::Other => "Other",
    }
}

/// A ticket as HaloPSA shows it.
pub fn ticket_json(v: &Vocabulary, names: &Names, view: &TicketView) -> Value {
    let t = &view.ticket;
    let c = v.catalog();
    let sla = view.sla.as_ref();
    let on_hold = c
        .status(t.status_id)
        .is_some_and(|s| s.sla_clock == SlaClock::Paused);
    let (chargeable, non_chargeable) = names.minutes.get(&t.id).copied().unwrap_or_default();
    let user = t.contact_id.and_then(|id| names.users.get(&id));
    let team = t.queue_id.and_then(|id| names.teams.get(&id)).cloned();
    let category = |i: usize| t.categories.get(i).cloned();
    let fix_by = sla
        .and_then(|s| s.resolution.as_ref())
        .map(|c| c.due_at)
        .or(t.resolution_due_at);
    let respond_by = sla
        .and_then(|s| s.first_response.as_ref())
        .map(|c| c.due_at)
        .or(t.response_due_at);
    let customfields: Vec<Value> = t
        .custom_fields
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value, "display": value}))
        .collect();
    json!({
        "id": t.id.0,
        "ticketnumber": t.number,
        "summary": t.title,
        "details": t.description,
        "details_html": t.description,
        "status_id": v.code(CodeKind::Status, t.status_id.0),
        "status_name": v.status_name(t.status_id),
        "tickettype_id": v.code(CodeKind::TicketType, t.type_id.0),
        "tickettype_name": c.ticket_type(t.type_id).map(|x| x.name.clone()),
        "priority_id": v.code(CodeKind::Priority, t.priority_id.0),
        "priority_name": c.priority(t.priority_id).map(|x| x.name.clone()),
        "sla_id": sla.map(|s| s.policy_id.0),
        "sla_name": sla.map(|s| s.policy_name.clone()),
        "client_id": t.company_id.0,
        "client_name": names.clients.get(&t.company_id),
        "site_id": t.location_id.map(|x| x.0),
        "site_name": t.location_id.and_then(|id| names.sites.get(&id)),
        "user_id": t.contact_id.map(|x| x.0),
        "user_name": user.map(|u| u.0.clone()),
        "user_email": user.and_then(|u| u.1.clone()),
        "agent_id": t.assigned_resource_id.map(|x| x.0),
        "agent_name": t.assigned_resource_id.and_then(|id| names.agents.get(&id)),
        "team_id": t.queue_id.map(|x| x.0),
        "team": team,
        "team_name": team,
        "category_1": category(0),
        "category_2": category(1),
        "category_3": category(2),
        "category_4": category(3),
        "dateoccurred": at(Some(t.created_at)),
        "datecreated": at(Some(t.created_at)),
        "deadlinedate": at(t.due_at.or(fix_by)),
        "fixbydate": at(fix_by),
        "respondbydate": at(respond_by),
        "responsedate": at(t.first_response_at),
        "dateresolved": at(t.resolved_at),
        "dateclosed": at(t.completed_at),
        "lastactiondate": at(Some(t.last_activity_at)),
        "last_update": at(Some(t.updated_at)),
        "estimate": t.estimated_minutes.map(hours),
        "timetaken": hours(chargeable + non_chargeable),
        "chargeabletime": hours(chargeable),
        "nonchargeabletime": hours(non_chargeable),
        "onhold": on_hold,
        "slahold": sla.is_some_and(|s| s.paused),
        "slaresponsestate": sla.and_then(|s| s.first_response.as_ref()).map(|c| sla_state(c.state)),
        "slaresolutionstate": sla.and_then(|s| s.resolution.as_ref()).map(|c| sla_state(c.state)),
        "inactive": false,
        "source": source_name(t.source),
        "parent_id": t.problem_ticket_id.map(|x| x.0),
        "contract_id": t.contract_id.map(|x| x.0),
        "resolution": t.resolution,
        "customfields": customfields,
    })
}

/// `ticketidonly=true`: only what a client needs to find tickets again.
fn id_only(v: &Vocabulary, names: &Names, view: &TicketView) -> Value {
    let t = &view.ticket;
    json!({
        "id": t.id.0,
        "sla_id": view.sla.as_ref().map(|s| s.policy_id.0),
        "status_id": v.code(CodeKind::Status, t.status_id.0),
        "client_id": t.company_id.0,
        "client_name": names.clients.get(&t.company_id),
        "lastincomingemail": Value::Null,
    })
}

/// Comma-separated whole numbers in a query parameter.
fn numbers(call: &Call, name: &str) -> Result<Vec<i64>, Error> {
    let Some(text) = call.param(name) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| Error::field(name, format!("'{s}' is not a whole number")))
        })
        .collect()
}

fn one_of(column: Column, values: Vec<i64>) -> Option<Node> {
    (!values.is_empty()).then(|| {
        Node::Leaf(
            Field::Column(column),
            Test::In(values.into_iter().map(Scalar::Integer).collect()),
        )
    })
}

const DATE_COLUMNS: [(&str, Column); 8] = [
    ("dateoccurred", Column::CreatedAt),
    ("dateoccured", Column::CreatedAt),
    ("datecreated", Column::CreatedAt),
    ("lastactiondate", Column::LastActivityAt),
    ("last_update", Column::UpdatedAt),
    ("dateclosed", Column::CompletedAt),
    ("dateresolved", Column::ResolvedAt),
    ("deadlinedate", Column::DueAt),
];

fn date(call: &Call, name: &str) -> Result<Option<Timestamp>, Error> {
    call.param(name)
        .map(|text| {
            fixpoint_core::query::parse_instant(text).ok_or_else(|| {
                Error::field(
                    name,
                    format!("'{text}' is not a date such as 2026-11-24 or 2026-11-24T09:00:00Z"),
                )
            })
        })
        .transpose()
}

/// The list's filters as Fixpoint's query tree.
fn filter(call: &Call, v: &Vocabulary) -> Result<Node, Error> {
    let mut all = Vec::new();
    let ids = |names: &[&str]| -> Result<Vec<i64>, Error> {
        for name in names {
            let found = numbers(call, name)?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Ok(Vec::new())
    };
    all.extend(one_of(Column::CompanyId, ids(&["client_id"])?));
    all.extend(one_of(Column::LocationId, ids(&["site_id", "site"])?));
    all.extend(one_of(Column::ContactId, ids(&["user_id"])?));
    all.extend(one_of(
        Column::AssignedResourceId,
        ids(&["agent_id", "agent"])?,
    ));
    all.extend(one_of(Column::QueueId, ids(&["team_id", "team"])?));
    all.extend(one_of(Column::SlaPolicyId, ids(&["sla_id", "sla"])?));
    all.extend(one_of(Column::ContractId, ids(&["contract_id"])?));
    for (kind, names, column) in [
        (
            CodeKind::Status,
            &["status_id", "status"][..],
            Column::StatusId,
        ),
        (
            CodeKind::Priority,
            &["priority_id", "priority"][..],
            Column::PriorityId,
        ),
        (
            CodeKind::TicketType,
            &["tickettype_id", "requesttype_id", "requesttype"][..],
            Column::TypeId,
        ),
    ] {
        for name in names {
            let codes = numbers(call, name)?;
            if !codes.is_empty() {
                let targets = codes
                    .into_iter()
                    .map(|code| v.id(kind, name, code))
                    .collect::<Result<Vec<_>, _>>()?;
                all.extend(one_of(column, targets));
                break;
            }
        }
    }
    for (level, column) in [
        Column::Category1,
        Column::Category2,
        Column::Category3,
        Column::Category4,
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(text) = call.param(&format!("category_{}", level + 1)) {
            all.push(Node::Leaf(
                Field::Column(column),
                Test::Eq(Scalar::Text(text.to_owned())),
            ));
        }
    }
    let done: Vec<Scalar> = [StatusCategory::Resolved, StatusCategory::Closed]
        .into_iter()
        .map(|c| Scalar::Text(fixpoint_core::query::category_name(c).to_owned()))
        .collect();
    if call.flag("open_only") {
        all.push(Node::Leaf(Field::StatusCategory, Test::NotIn(done.clone())));
    }
    if call.flag("closed_only") {
        all.push(Node::Leaf(Field::StatusCategory, Test::In(done)));
    }
    if let Some(text) = call.param("search") {
        all.push(Node::Text(text.to_owned()));
    }
    for (name, column) in [
        ("search_summary", Column::Title),
        ("search_details", Column::Description),
    ] {
        if let Some(text) = call.param(name) {
            all.push(Node::Leaf(
                Field::Column(column),
                Test::Contains(text.to_owned()),
            ));
        }
    }
    let (start, end) = (date(call, "startdate")?, date(call, "enddate")?);
    if start.is_some() || end.is_some() {
        let which = call.param("datesearch").unwrap_or("dateoccurred");
        let column = DATE_COLUMNS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(which))
            .map(|(_, c)| *c)
            .ok_or_else(|| {
                let allowed: Vec<&str> = DATE_COLUMNS.iter().map(|(n, _)| *n).collect();
                Error::field(
                    "datesearch",
                    format!("'{which}' is not a date field; use {}", allowed.join(", ")),
                )
            })?;
        if let Some(start) = start {
            all.push(Node::Leaf(
                Field::Column(column),
                Test::Gte(Scalar::Instant(start)),
            ));
        }
        if let Some(end) = end {
            all.push(Node::Leaf(
                Field::Column(column),
                Test::Lte(Scalar::Instant(end)),
            ));
        }
    }
    Ok(Node::And(all))
}

const ORDERS: [(&str, SortKey); 10] = [
    ("id", SortKey::Id),
    ("datecreated", SortKey::CreatedAt),
    ("dateoccurred", SortKey::CreatedAt),
    ("dateoccured", SortKey::CreatedAt),
    ("last_update", SortKey::UpdatedAt),
    ("lastactiondate", SortKey::UpdatedAt),
    ("deadlinedate", SortKey::DueAt),
    ("fixbydate", SortKey::DueAt),
    ("priority", SortKey::Priority),
    ("priority_id", SortKey::Priority),
];

fn sort(call: &Call) -> Result<Sort, Error> {
    let descending = call
        .param("orderdesc")
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let key = match call.param("order") {
        None => {
            if call.param("search").is_some() {
                return Ok(Sort {
                    key: SortKey::Relevance,
                    descending: false,
                });
            }
            SortKey::Id
        }
        Some(name) => ORDERS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                let allowed: Vec<&str> = ORDERS.iter().map(|(n, _)| *n).collect();
                Error::field(
                    "order",
                    format!("'{name}' cannot be sorted on; use {}", allowed.join(", ")),
                )
            })?,
    };
    // Priority sorts most urgent first when ascending; HaloPSA's lowest number is the
    // most urgent, so its ascending order is the same.
    Ok(Sort {
        key,
        descending: descending.unwrap_or(false),
    })
}

/// `pageinate=true` with `page_size` and `page_no` (from 1); otherwise a numeric
/// `count` caps the list. Returns (offset, size).
pub fn paging(call: &Call) -> Result<(u64, u64), Error> {
    let size_of = |name: &str, value: Option<i64>| match value {
        None => Ok(PAGE_SIZE_DEFAULT),
        Some(n) if n >= 1 => Ok((n as u64).min(PAGE_SIZE_MAX)),
        Some(n) => Err(Error::field(name, format!("{n} must be at least 1"))),
    };
    if call.flag("pageinate") || call.flag("paginate") {
        let size = size_of("page_size", call.int("page_size")?)?;
        let page = match call.int("page_no")? {
            None => 1,
            Some(n) if (1..=10_000_000).contains(&n) => n as u64,
            Some(n) => return Err(Error::field("page_no", format!("{n} must be 1 or more"))),
        };
        Ok(((page - 1) * size, size))
    } else {
        // A non-numeric count (`count=true`) asks for the total, which every list
        // carries as `record_count` anyway.
        let count = call
            .param("count")
            .and_then(|c| c.trim().parse::<i64>().ok());
        Ok((0, size_of("count", count)?))
    }
}

pub async fn list(call: &Call) -> Result<axum::response::Response, Error> {
    let (v, filter, sort, (offset, size)) = {
        let mut conn = call.state.store.read().await?;
        let v = Vocabulary::load(call, &mut conn).await?;
        let filter = filter(call, &v)?;
        (v, filter, sort(call)?, paging(call)?)
    };
    let now = call.state.now();
    let page = service::list(
        &call.state.store,
        &filter,
        sort,
        size,
        (offset > 0).then_some(Cursor::Offset(offset)),
        now,
        Total::Count,
    )
    .await?;
    let mut conn = call.state.store.read().await?;
    let names = Names::load(&mut conn, &page.items).await?;
    let id_only_wanted = call.flag("ticketidonly");
    let tickets: Vec<Value> = page
        .items
        .iter()
        .map(|t| {
            if id_only_wanted {
                id_only(&v, &names, t)
            } else {
                ticket_json(&v, &names, t)
            }
        })
        .collect();
    let mut body = json!({
        "record_count": page.total.unwrap_or(tickets.len() as i64),
        "tickets": tickets,
    });
    if call.flag("pageinate") || call.flag("paginate") {
        body["page_no"] = json!(offset / size + 1);
        body["page_size"] = json!(size);
    }
    ok(body)
}

pub async fn view(call: &Call, id: i64) -> Result<TicketView, Error> {
    Ok(service::get(&call.state.store, TicketId(id), call.state.now()).await?)
}

/// One ticket as the dialect shows it, read afresh.
pub async fn shown(call: &Call, view: &TicketView) -> Result<Value, Error> {
    let mut conn = call.state.store.read().await?;
    let v = Vocabulary::load(call, &mut conn).await?;
    let names = Names::load(&mut conn, std::slice::from_ref(view)).await?;
    Ok(ticket_json(&v, &names, view))
}

pub async fn get(call: &Call, id: i64) -> Result<axum::response::Response, Error> {
    let view = view(call, id).await?;
    if call.flag("ticketidonly") {
        let mut conn = call.state.store.read().await?;
        let v = Vocabulary::load(call, &mut conn).await?;
        let names = Names::load(&mut conn, std::slice::from_ref(&view)).await?;
        return ok(id_only(&v, &names, &view));
    }
    let mut ticket = shown(call, &view).await?;
    if call.flag("includeactions") {
        ticket["actions"] = Value::Array(actions::of_ticket(call, id, &Default::default()).await?);
    }
    ok(ticket)
}

pub async fn delete(call: &Call, id: i64) -> Result<axum::response::Response, Error> {
    call.caller().require_admin()?;
    service::delete(&call.state.store, TicketId(id)).await?;
    ok(json!({}))
}

/// `POST /api/Tickets`: each record with a positive `id` updates that ticket, any
/// other creates one (see [`each_record`]).
pub async fn upsert(call: &Call) -> Result<axum::response::Response, Error> {
    let caller = call.writer()?;
    let records = call.records()?;
    let done = each_record(&records, |record| async move {
        let (view, created) = upsert_one(call, &caller.actor(), record).await?;
        Ok((shown(call, &view).await?, created))
    })
    .await?;
    let any_created = done.iter().any(|(_, created)| *created);
    let shown_records = done.into_iter().map(|(value, _)| value).collect();
    upserted("tickets", shown_records, any_created)
}

async fn upsert_one(
    call: &Call,
    actor: &str,
    record: &Map<String, Value>,
) -> Result<(TicketView, bool), Error> {
    let body = Body(record);
    let id = body.int("id")?.flatten().filter(|id| *id > 0);
    let now = call.state.now();
    match id {
        Some(id) => {
            let before = view(call, id).await?;
            let patch = {
                let mut conn = call.state.store.read().await?;
                let v = Vocabulary::load(call, &mut conn).await?;
                patch(&v, &body, Some(&before.ticket.categories))?
            };
            let outcome =
                service::update(&call.state.store, actor, TicketId(id), patch, None, now).await?;
            Ok((outcome.view, false))
        }
        None => {
            let new = {
                let mut conn = call.state.store.read().await?;
                let v = Vocabulary::load(call, &mut conn).await?;
                new_ticket(&v, &body, &mut conn).await?
            };
            if body.boolean("check_duplicates")?.unwrap_or(false) {
                let similar =
                    service::similar(&call.state.store, new.company_id, &new.title, 5, now).await?;
                if !similar.is_empty() {
                    let found: Vec<String> = similar
                        .iter()
                        .map(|s| {
                            format!(
                                "{} '{}' ({:.0}% alike)",
                                s.view.ticket.id,
                                s.view.ticket.title,
                                s.similarity * 100.0
                            )
                        })
                        .collect();
                    return Err(Error::new(
                        axum::http::StatusCode::CONFLICT,
                        "duplicate",
                        format!(
                            "the client has open tickets like this one: {}; send check_duplicates=false to open it anyway",
                            found.join("; ")
                        ),
                    ));
                }
            }
            let created = service::create(&call.state.store, actor, new, None, now).await?;
            match created {
                service::Created::New(outcome) => Ok((outcome.view, true)),
                service::Created::Replayed(_) => {
                    unreachable!("a create without an idempotency key is never replayed")
                }
            }
        }
    }
}

fn code_field(
    v: &Vocabulary,
    body: &Body<'_>,
    kind: CodeKind,
    field: &str,
) -> Result<Option<i64>, Error> {
    match body.int(field)? {
        Some(Some(code)) => Ok(Some(v.id(kind, field, code)?)),
        Some(None) => Err(Error::field(field, "cannot be null")),
        None => Ok(None),
    }
}

/// `category_1..4` over the ticket's current categories (none for a new ticket); an
/// empty or null level clears it and the levels below.
fn categories(body: &Body<'_>, current: &[String]) -> Result<Option<Vec<String>>, Error> {
    let mut levels: Vec<Option<String>> = (0..CATEGORY_LEVELS)
        .map(|i| current.get(i).cloned())
        .collect();
    let mut given = false;
    for (i, level) in levels.iter_mut().enumerate() {
        let name = format!("category_{}", i + 1);
        match body.get(&name) {
            None => {}
            Some(Value::Null) => {
                given = true;
                *level = None;
            }
            Some(Value::String(s)) => {
                given = true;
                *level = (!s.trim().is_empty()).then(|| s.clone());
            }
            Some(other) => {
                given = true;
                *level = Some(match other {
                    Value::Number(n) => n.to_string(),
                    _ => return Err(Error::field(&name, format!("{other} is not text"))),
                });
            }
        }
    }
    if !given {
        return Ok(None);
    }
    // The core refuses a gap (level 3 without level 2) and names the field.
    let last = levels
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |i| i + 1);
    Ok(Some(
        levels[..last]
            .iter()
            .map(|l| l.clone().unwrap_or_default())
            .collect(),
    ))
}

fn details(body: &Body<'_>) -> Result<Given<String>, Error> {
    match body.text("details")? {
        None => Ok(body.text("details_html")?),
        given => Ok(given),
    }
}

/// The fields a record gives, as a patch of the ticket whose categories are `current`.
fn patch(
    v: &Vocabulary,
    body: &Body<'_>,
    current: Option<&Vec<String>>,
) -> Result<TicketPatch, Error> {
    let id_of = |field: &str| -> Result<Given<i64>, Error> { Ok(body.int(field)?) };
    Ok(TicketPatch {
        title: match body.text("summary")? {
            Some(None) => return Err(Error::field("summary", "cannot be null")),
            other => other.flatten(),
        },
        description: details(body)?,
        company_id: match id_of("client_id")? {
            Some(None) => return Err(Error::field("client_id", "cannot be null")),
            other => other.flatten().map(CompanyId),
        },
        location_id: id_of("site_id")?.map(|o| o.map(LocationId)),
        contact_id: id_of("user_id")?.map(|o| o.map(ContactId)),
        status_id: code_field(v, body, CodeKind::Status, "status_id")?.map(StatusId),
        priority_id: code_field(v, body, CodeKind::Priority, "priority_id")?.map(PriorityId),
        type_id: code_field(v, body, CodeKind::TicketType, "tickettype_id")?.map(TicketTypeId),
        queue_id: id_of("team_id")?.map(|o| o.map(QueueId)),
        categories: categories(body, current.map_or(&[][..], Vec::as_slice))?,
        assigned_resource_id: id_of("agent_id")?.map(|o| o.map(ResourceId)),
        contract_id: id_of("contract_id")?.map(|o| o.map(ContractId)),
        due_at: body.instant("deadlinedate")?,
        // The core judges the range; `as` saturates, so no value can overflow.
        estimated_minutes: body
            .number("estimate")?
            .map(|o| o.map(|h| (h * 60.0).round() as i64)),
        resolution: body.text("resolution")?,
        problem_ticket_id: id_of("parent_id")?.map(|o| o.map(TicketId)),
        // HaloPSA also sends a field's `id`; Fixpoint's custom fields are named.
        custom_fields: body.named_values("customfields")?,
        sla_policy_id: id_of("sla_id")?.map(|o| o.map(SlaPolicyId)),
        ..TicketPatch::default()
    })
}

/// A new ticket from a record: `summary` and `tickettype_id` required, the client
/// given or found from the user or the site.
async fn new_ticket(v: &Vocabulary, body: &Body<'_>, conn: &mut Conn) -> Result<NewTicket, Error> {
    let p = patch(v, body, None)?;
    let title = p
        .title
        .clone()
        .ok_or_else(|| Error::field("summary", "is required"))?;
    let type_id = p
        .type_id
        .ok_or_else(|| Error::field("tickettype_id", "is required"))?;
    let company_id = match (
        p.company_id,
        p.contact_id.flatten(),
        p.location_id.flatten(),
    ) {
        (Some(company), _, _) => company,
        (None, Some(user), _) => parties::contact(conn, user)
            .await?
            .map(|c| c.company_id)
            .ok_or_else(|| Error::field("user_id", format!("there is no user {user}")))?,
        (None, None, Some(site)) => parties::location(conn, site)
            .await?
            .map(|l| l.company_id)
            .ok_or_else(|| Error::field("site_id", format!("there is no site {site}")))?,
        (None, None, None) => return Err(Error::field("client_id", "is required")),
    };
    Ok(NewTicket {
        type_id: Some(type_id),
        source: Some(Source::Api),
        ..p.into_new(title, company_id)
    })
}
