//! Atera v3 under `/api/v3`: tickets (list, get, create, update), with Atera's field
//! names, status vocabulary, paged envelope and error body, over the service layer.

mod map;
mod parties;
pub mod wire;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use crate::param;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fixpoint_core::catalog::Catalog;
use fixpoint_core::filter::{Sort, SortKey};
use fixpoint_core::ids::*;
use fixpoint_core::query::{Column, Field, Node, Scalar, Test};
use fixpoint_core::ticket::{self as core_ticket, Source, TicketPatch};
use fixpoint_server::AppState;
use fixpoint_server::auth::Caller;
use fixpoint_server::rate_limit::RateLimit;
use fixpoint_server::service::tickets::{self as service, Created};
use fixpoint_store::dialects::{self, VendorStatus};
use fixpoint_store::{Conn, parties as party_rows};
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use wire::Error;

const DIALECT: &str = "atera";
const ITEMS_IN_PAGE_DEFAULT: u64 = 20;
/// Far past any real list, and small enough that `page × itemsInPage` cannot overflow.
const PAGE_MAX: i64 = 10_000_000;
const TICKETS_IN_PAGE_MAX: u64 = 50;
/// Atera keeps the impact; Fixpoint has no such field, so it rides as a custom field.
const IMPACT_FIELD: &str = "Impact";

pub fn routes(requests_per_minute: u32) -> Router<AppState> {
    let limit = Arc::new(RateLimit::new(
        requests_per_minute,
        std::time::Duration::from_secs(60),
    ));
    Router::new()
        .route("/api/v3/tickets", get(list).post(create))
        .route(
            "/api/v3/tickets/{id}",
            get(get_one).put(update).post(update).delete(delete),
        )
        .route("/api/v3/tickets/statusmodified", get(status_modified))
        .route("/api/v3/tickets/lastmodified", get(last_modified))
        .route(
            "/api/v3/tickets/{id}/comments",
            get(comments).post(add_comment),
        )
        .route(
            "/api/v3/tickets/{id}/workhours",
            get(work_hours).post(log_work),
        )
        .route("/api/v3/tickets/{id}/workhoursrecords", get(work_records))
        .route("/api/v3/tickets/{id}/billableduration", get(billable))
        .route(
            "/api/v3/tickets/{id}/nonbillableduration",
            get(non_billable),
        )
        .route(
            "/api/v3/customers",
            get(parties::customers).post(parties::create_customer),
        )
        .route("/api/v3/customers/{id}", get(parties::get_customer))
        .route(
            "/api/v3/contacts",
            get(parties::contacts).post(parties::create_contact),
        )
        .route("/api/v3/contacts/{id}", get(parties::get_contact))
        .route("/api/v3/{*rest}", axum::routing::any(no_such_endpoint))
        .route_layer(axum::middleware::from_fn_with_state(limit, rate_limited))
}

/// Anything else under `/api/v3` answers in Atera's JSON, not the native problem
/// document: some clients read any other content type as an empty object.
async fn no_such_endpoint(uri: axum::http::Uri) -> Error {
    Error {
        status: StatusCode::NOT_FOUND,
        message: format!("Fixpoint's Atera API has no endpoint at {}", uri.path()),
        errors: Vec::new(),
    }
}

/// Atera's per-key limit: over it, 429 with `Retry-After` and Atera's error body.
async fn rate_limited(
    State(limit): State<Arc<RateLimit>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    let key = headers
        .get("x-api-key")
        .or(headers.get(axum::http::header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok());
    if let Some(key) = key
        && let Err(retry_after) = limit.check(key, std::time::Instant::now())
    {
        let mut response = Error {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!("this API key made too many requests; retry in {retry_after} s"),
            errors: Vec::new(),
        }
        .into_response();
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(retry_after),
        );
        return response;
    }
    next.run(request).await
}

type Params = Query<Vec<(String, String)>>;

fn number(params: &[(String, String)], name: &str) -> Result<Option<i64>, Error> {
    param(params, name)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| Error::field(name, format!("'{v}' is not a whole number")))
        })
        .transpose()
}

fn instant(params: &[(String, String)], name: &str) -> Result<Option<Timestamp>, Error> {
    param(params, name)
        .map(|v| {
            fixpoint_core::query::parse_instant(v)
                .or_else(|| fixpoint_core::query::parse_instant(v.get(..10)?))
                .ok_or_else(|| {
                    Error::field(name, format!("'{v}' is not a date such as 2026-11-24"))
                })
        })
        .transpose()
}

async fn caller(headers: &HeaderMap, state: &AppState) -> Result<Caller, Error> {
    Ok(Caller::authenticate(headers, state).await?)
}

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error {
        status: StatusCode::BAD_REQUEST,
        message: format!("the body is not valid JSON for this request: {e}"),
        errors: Vec::new(),
    })
}

/// What translating tickets needs: the catalogue and SLA calendars, and Atera's
/// status names.
struct Vocabulary {
    setup: service::SlaSetup,
    statuses: Vec<VendorStatus>,
}

impl Vocabulary {
    async fn load(state: &AppState, conn: &mut Conn) -> Result<Self, Error> {
        Ok(Self {
            setup: service::SlaSetup::load(&state.store, conn).await?,
            statuses: dialects::statuses(conn, DIALECT).await?,
        })
    }

    fn catalog(&self) -> &Catalog {
        self.setup.catalog()
    }
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let mut conn = state.store.read().await?;
    let vocabulary = Vocabulary::load(&state, &mut conn).await?;
    let mut all = Vec::new();
    let equals = |column, id| Node::Leaf(Field::Column(column), Test::Eq(Scalar::Integer(id)));
    if let Some(customer) = number(&params, "customerId")? {
        all.push(equals(Column::CompanyId, customer));
    }
    if let Some(technician) =
        number(&params, "technicianId")?.or(number(&params, "technicianContactId")?)
    {
        all.push(equals(Column::AssignedResourceId, technician));
    }
    if let Some(status) = param(&params, "ticketStatus") {
        let ids = map::status_ids(&vocabulary.statuses, status, "ticketStatus")?;
        all.push(Node::Leaf(
            Field::Column(Column::StatusId),
            Test::In(ids.into_iter().map(Scalar::Integer).collect()),
        ));
    }
    let created = |test: fn(Scalar) -> Test, at: Timestamp| {
        Node::Leaf(Field::Column(Column::CreatedAt), test(Scalar::Instant(at)))
    };
    if let Some(from) = instant(&params, "dateFrom")? {
        all.push(created(Test::Gte, from));
    }
    if let Some(to) = instant(&params, "dateTo")? {
        all.push(created(Test::Lte, to));
    }
    drop(conn);
    let newest_first = Sort {
        key: SortKey::Id,
        descending: true,
    };
    let page = TicketPage {
        filter: Node::And(all),
        sort: newest_first,
        path: "/api/v3/tickets",
    };
    page.answer(&state, &headers, &params, vocabulary).await
}

/// Resolved and closed tickets, most recently changed first (Atera's
/// `statusmodified` feed).
async fn status_modified(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let mut conn = state.store.read().await?;
    let vocabulary = Vocabulary::load(&state, &mut conn).await?;
    drop(conn);
    let done = ["resolved", "closed"].map(|c| Scalar::Text(c.to_owned()));
    let page = TicketPage {
        filter: Node::Leaf(Field::StatusCategory, Test::In(done.to_vec())),
        sort: recently_changed(),
        path: "/api/v3/tickets/statusmodified",
    };
    page.answer(&state, &headers, &params, vocabulary).await
}

/// Tickets changed since `date`, most recently changed first.
async fn last_modified(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let since = instant(&params, "date")?
        .ok_or_else(|| Error::field("date", "date is required, e.g. 2026-11-24"))?;
    let mut conn = state.store.read().await?;
    let vocabulary = Vocabulary::load(&state, &mut conn).await?;
    drop(conn);
    let page = TicketPage {
        filter: Node::Leaf(
            Field::Column(Column::UpdatedAt),
            Test::Gte(Scalar::Instant(since)),
        ),
        sort: recently_changed(),
        path: "/api/v3/tickets/lastmodified",
    };
    page.answer(&state, &headers, &params, vocabulary).await
}

fn recently_changed() -> Sort {
    Sort {
        key: SortKey::UpdatedAt,
        descending: true,
    }
}

/// One page of tickets in Atera's envelope.
struct TicketPage {
    filter: Node,
    sort: Sort,
    path: &'static str,
}

impl TicketPage {
    async fn answer(
        self,
        state: &AppState,
        headers: &HeaderMap,
        params: &[(String, String)],
        vocabulary: Vocabulary,
    ) -> Result<Response, Error> {
        let (page, per_page) = paging(params, TICKETS_IN_PAGE_MAX)?;
        let offset = fixpoint_store::tickets::Cursor::Offset((page - 1) * per_page);
        let found = service::list(
            &state.store,
            &self.filter,
            self.sort,
            per_page,
            Some(offset),
            state.now(),
            service::Total::Count,
        )
        .await?;
        let mut conn = state.store.read().await?;
        let tickets: Vec<&core_ticket::Ticket> = found.items.iter().map(|v| &v.ticket).collect();
        let names = Names::load(&mut conn, &tickets).await?;
        let items: Vec<wire::Ticket> = tickets
            .iter()
            .map(|t| names.ticket(&vocabulary, t))
            .collect();
        Ok(axum::Json(envelope(
            items,
            found.total.unwrap_or_default(),
            (page, per_page),
            headers,
            self.path,
            params,
        ))
        .into_response())
    }
}

async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    caller(&headers, &state).await?.require_admin()?;
    let id = ticket_id(&id)?;
    service::delete(&state.store, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `page` (from 1) and `itemsInPage` (default 20, at most `max`).
fn paging(params: &[(String, String)], max: u64) -> Result<(u64, u64), Error> {
    let page = number(params, "page")?.unwrap_or(1);
    if !(1..=PAGE_MAX).contains(&page) {
        return Err(Error::field(
            "page",
            format!("page counts from 1 to {PAGE_MAX}"),
        ));
    }
    let per_page = number(params, "itemsInPage")?.unwrap_or(ITEMS_IN_PAGE_DEFAULT as i64);
    if !(1..=max as i64).contains(&per_page) {
        return Err(Error::field(
            "itemsInPage",
            format!("itemsInPage is 1 to {max}"),
        ));
    }
    Ok((page as u64, per_page as u64))
}

/// Atera's envelope around one page, with absolute links to its neighbours that keep
/// the client's other parameters.
fn envelope<T>(
    items: Vec<T>,
    total: i64,
    (page, per_page): (u64, u64),
    headers: &HeaderMap,
    path: &str,
    params: &[(String, String)],
) -> wire::Page<T> {
    let total_pages = (total.max(0) as u64).div_ceil(per_page);
    let link = |to: u64| {
        if to < 1 || to > total_pages {
            return String::new();
        }
        let mut query: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("page"))
            .cloned()
            .collect();
        query.push(("page".into(), to.to_string()));
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&query)
            .finish();
        format!("{}{path}?{query}", crate::origin(headers))
    };
    wire::Page {
        items,
        total_item_count: total,
        page,
        items_in_page: per_page,
        total_pages,
        prev_link: link(page - 1),
        next_link: link(page + 1),
    }
}

/// One page of an in-memory list (a ticket's comments or work records).
fn page_of<T>(all: Vec<T>, (page, per_page): (u64, u64)) -> (Vec<T>, i64) {
    let total = all.len() as i64;
    let items = all
        .into_iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .collect();
    (items, total)
}

async fn get_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let id = ticket_id(&id)?;
    let view = service::get(&state.store, id, state.now()).await?;
    let mut conn = state.store.read().await?;
    let vocabulary = Vocabulary::load(&state, &mut conn).await?;
    let names = Names::load(&mut conn, &[&view.ticket]).await?;
    let ticket = names.ticket(&vocabulary, &view.ticket);
    Ok(axum::Json(ticket).into_response())
}

fn ticket_id(text: &str) -> Result<TicketId, Error> {
    text.parse().map(TicketId).map_err(|_| Error {
        status: StatusCode::NOT_FOUND,
        message: format!("there is no ticket '{text}'"),
        errors: Vec::new(),
    })
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Error> {
    let caller = caller(&headers, &state).await?;
    caller.require_write()?;
    let new: wire::NewTicket = body(&bytes)?;
    let title = new
        .ticket_title
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Error::field("TicketTitle", "TicketTitle is required"))?;
    let description = new
        .description
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Error::field("Description", "Description is required"))?;
    let mut conn = state.store.read().await?;
    let vocabulary = Vocabulary::load(&state, &mut conn).await?;
    let catalog = vocabulary.catalog();
    // The end user: by id, by e-mail address, or created from the EndUser fields in
    // the ticket's own transaction.
    let (contact, new_contact) = match (new.end_user_id, new.end_user_email.as_deref()) {
        (Some(id), _) => (
            Some(
                party_rows::contact(&mut conn, ContactId(id))
                    .await?
                    .ok_or_else(|| {
                        Error::field("EndUserID", format!("there is no end user {id}"))
                    })?,
            ),
            None,
        ),
        (None, Some(email)) => match contact_by_email(&mut conn, email).await? {
            Some(found) => (Some(found), None),
            None => {
                let company = new.customer_id.ok_or_else(|| {
                    Error::field(
                        "CustomerID",
                        format!("CustomerID is needed to create the end user {email}"),
                    )
                })?;
                let created = fixpoint_core::parties::NewContact {
                    company_id: CompanyId(company),
                    first_name: new.end_user_first_name.clone().unwrap_or_default(),
                    last_name: new.end_user_last_name.clone().unwrap_or_default(),
                    email: Some(email.to_owned()),
                    phone: new.end_user_phone.clone(),
                    language: None,
                    active: true,
                };
                (None, Some(created))
            }
        },
        (None, None) => (None, None),
    };
    let company_id = match (new.customer_id, &contact) {
        (Some(id), _) => CompanyId(id),
        (None, Some(contact)) => contact.company_id,
        (None, None) => {
            return Err(Error::field(
                "CustomerID",
                "CustomerID is required when no end user is given",
            ));
        }
    };
    let assigned_resource_id = technician(
        &mut conn,
        new.technician_contact_id,
        new.technician_email.as_deref(),
    )
    .await?;
    let mut custom_fields = std::collections::BTreeMap::new();
    if let Some(impact) = new.ticket_impact.as_deref() {
        custom_fields.insert(
            IMPACT_FIELD.to_owned(),
            map::impact(impact, "TicketImpact")?.to_owned(),
        );
    }
    let ticket = core_ticket::NewTicket {
        title,
        description: Some(description),
        company_id,
        contact_id: contact.map(|c| c.id),
        status_id: new
            .ticket_status
            .as_deref()
            .map(|s| map::status_id(&vocabulary.statuses, s, "TicketStatus"))
            .transpose()?,
        priority_id: new
            .ticket_priority
            .as_deref()
            .map(|p| map::priority_id(catalog, p, "TicketPriority"))
            .transpose()?,
        type_id: new
            .ticket_type
            .as_deref()
            .map(|t| map::type_id(catalog, t, "TicketType"))
            .transpose()?,
        source: Some(Source::Api),
        assigned_resource_id,
        custom_fields,
        ..Default::default()
    };
    drop(conn);
    let actor = caller.actor();
    let created = match new_contact {
        Some(contact) => {
            service::create_with_contact(&state.store, &actor, contact, ticket, state.now()).await?
        }
        None => service::create(&state.store, &actor, ticket, None, state.now()).await?,
    };
    let id = match created {
        Created::New(outcome) => outcome.view.ticket.id,
        Created::Replayed(_) => unreachable!("no idempotency key was given"),
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(wire::ActionId { action_id: id.0 }),
    )
        .into_response())
}

async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let caller = caller(&headers, &state).await?;
    caller.require_write()?;
    let id = ticket_id(&id)?;
    let change: wire::TicketUpdate = body(&bytes)?;
    let mut conn = state.store.read().await?;
    let vocabulary = Vocabulary::load(&state, &mut conn).await?;
    let catalog = vocabulary.catalog();
    let mut patch = TicketPatch {
        title: change.ticket_title,
        status_id: change
            .ticket_status
            .as_deref()
            .map(|s| map::status_id(&vocabulary.statuses, s, "TicketStatus"))
            .transpose()?,
        priority_id: change
            .ticket_priority
            .as_deref()
            .map(|p| map::priority_id(catalog, p, "TicketPriority"))
            .transpose()?,
        type_id: change
            .ticket_type
            .as_deref()
            .map(|t| map::type_id(catalog, t, "TicketType"))
            .transpose()?,
        ..Default::default()
    };
    if change.technician_contact_id.is_some() || change.technician_email.is_some() {
        patch.assigned_resource_id = Some(
            technician(
                &mut conn,
                change.technician_contact_id,
                change.technician_email.as_deref(),
            )
            .await?,
        );
    }
    if let Some(impact) = change.ticket_impact.as_deref() {
        let impact = map::impact(impact, "TicketImpact")?;
        patch.custom_fields = Some(
            [(IMPACT_FIELD.to_owned(), Some(impact.to_owned()))]
                .into_iter()
                .collect(),
        );
    }
    drop(conn);
    service::update(&state.store, &caller.actor(), id, patch, None, state.now()).await?;
    Ok(axum::Json(wire::ActionId { action_id: id.0 }).into_response())
}

/// The first party with this e-mail address (compared case-insensitively).
fn by_email(email: &str) -> (party_rows::PartyFilter, party_rows::Page) {
    let filter = party_rows::PartyFilter {
        email: Some(email.to_owned()),
        ..Default::default()
    };
    (
        filter,
        party_rows::Page {
            after: None,
            limit: 1,
        },
    )
}

async fn contact_by_email(
    conn: &mut Conn,
    email: &str,
) -> Result<Option<fixpoint_core::parties::Contact>, Error> {
    let (filter, first) = by_email(email);
    let found = party_rows::contacts(conn, &filter, &first).await?;
    Ok(found.into_iter().next())
}

/// The technician named by id or e-mail address.
async fn technician(
    conn: &mut Conn,
    id: Option<i64>,
    email: Option<&str>,
) -> Result<Option<ResourceId>, Error> {
    match (id, email) {
        (Some(id), _) => Ok(Some(ResourceId(id))),
        (None, Some(email)) => {
            let (filter, first) = by_email(email);
            let found = party_rows::resources(conn, &filter, &first).await?;
            found.first().map(|r| Some(r.id)).ok_or_else(|| {
                Error::field(
                    "TechnicianEmail",
                    format!("there is no technician with the e-mail address {email}"),
                )
            })
        }
        (None, None) => Ok(None),
    }
}

/// Names of the companies, contacts and technicians tickets refer to, each looked up
/// once per request; for tickets, also their time and the notes their Atera form
/// quotes (the first, the last by the end user and by a technician), by ticket, oldest
/// first.
#[derive(Default)]
struct Names {
    companies: HashMap<CompanyId, Option<String>>,
    contacts: HashMap<ContactId, Option<fixpoint_core::parties::Contact>>,
    resources: HashMap<ResourceId, Option<fixpoint_core::parties::Resource>>,
    notes: HashMap<TicketId, Vec<fixpoint_core::time_entry::Note>>,
    entries: HashMap<TicketId, Vec<fixpoint_core::time_entry::TimeEntry>>,
}

fn instant_text(at: Option<Timestamp>) -> Option<String> {
    at.map(wire::instant_text)
}

impl Names {
    async fn contact(
        &mut self,
        conn: &mut Conn,
        id: ContactId,
    ) -> Result<Option<&fixpoint_core::parties::Contact>, Error> {
        if let Entry::Vacant(slot) = self.contacts.entry(id) {
            slot.insert(party_rows::contact(conn, id).await?);
        }
        Ok(self.contacts[&id].as_ref())
    }

    async fn resource(
        &mut self,
        conn: &mut Conn,
        id: ResourceId,
    ) -> Result<Option<&fixpoint_core::parties::Resource>, Error> {
        if let Entry::Vacant(slot) = self.resources.entry(id) {
            slot.insert(party_rows::resource(conn, id).await?);
        }
        Ok(self.resources[&id].as_ref())
    }

    /// Looks up, once for all these tickets, the names, notes and time their Atera
    /// form carries (five queries a page, not a few a ticket). Time is read whole: its
    /// split by the SLA calendar is a rule of the core's, entry by entry.
    async fn load(conn: &mut Conn, tickets: &[&core_ticket::Ticket]) -> Result<Self, Error> {
        let mut names = Names::default();
        let companies: Vec<CompanyId> = tickets.iter().map(|t| t.company_id).collect();
        for c in party_rows::companies_by_id(conn, &companies).await? {
            names.companies.insert(c.id, Some(c.name));
        }
        let contacts: Vec<ContactId> = tickets.iter().filter_map(|t| t.contact_id).collect();
        for c in party_rows::contacts_by_id(conn, &contacts).await? {
            names.contacts.insert(c.id, Some(c));
        }
        let technicians: Vec<ResourceId> = tickets
            .iter()
            .filter_map(|t| t.assigned_resource_id)
            .collect();
        for r in party_rows::resources_by_id(conn, &technicians).await? {
            names.resources.insert(r.id, Some(r));
        }
        let ids: Vec<TicketId> = tickets.iter().map(|t| t.id).collect();
        for n in fixpoint_store::work::first_and_last_notes_of_tickets(conn, &ids).await? {
            names.notes.entry(n.ticket_id).or_default().push(n);
        }
        for e in fixpoint_store::work::time_entries_of_tickets(conn, &ids).await? {
            names.entries.entry(e.ticket_id).or_default().push(e);
        }
        Ok(names)
    }

    /// One Atera ticket, from what [`Names::load`] looked up.
    fn ticket(&self, vocabulary: &Vocabulary, t: &core_ticket::Ticket) -> wire::Ticket {
        let notes = self.notes.get(&t.id).map_or(&[][..], Vec::as_slice);
        let entries = self.entries.get(&t.id).map_or(&[][..], Vec::as_slice);
        let catalog = vocabulary.catalog();
        let contact = t
            .contact_id
            .and_then(|id| self.contacts.get(&id).and_then(Option::as_ref));
        let technician = t
            .assigned_resource_id
            .and_then(|id| self.resources.get(&id).and_then(Option::as_ref));
        // Atera puts the work and the conversation on the ticket itself.
        let calendar = vocabulary
            .setup
            .context(t.sla_policy_id)
            .map(|c| c.calendar);
        let split = fixpoint_core::time_entry::SlaSplit::of(entries, calendar);
        let last_by_client = notes.iter().rev().find(|n| n.is_by_client());
        let last_by_us = notes.iter().rev().find(|n| !n.is_by_client());
        let total = split.on_sla_minutes + split.off_sla_minutes;
        let impact = t
            .custom_fields
            .get(IMPACT_FIELD)
            .and_then(|i| map::impact(i, IMPACT_FIELD).ok())
            .unwrap_or("NoImpact");
        wire::Ticket {
            ticket_id: t.id.0,
            ticket_title: t.title.clone(),
            ticket_number: t.number.clone(),
            ticket_source: match t.source {
                Source::Email => "Email",
                Source::Portal => "Portal",
                Source::Phone => "Phone",
                Source::Agent => "Agent",
                Source::Api | Source::Other => "Api",
            },
            ticket_priority: map::priority_name(catalog, t.priority_id),
            ticket_impact: impact,
            ticket_type: map::type_name(catalog, t.type_id),
            ticket_status: map::status_name(&vocabulary.statuses, t.status_id),
            end_user_id: t.contact_id.map(|c| c.0),
            end_user_email: contact.and_then(|c| c.email.clone()),
            end_user_first_name: contact.map(|c| c.first_name.clone()),
            end_user_last_name: contact.map(|c| c.last_name.clone()),
            end_user_phone: contact.and_then(|c| c.phone.clone()),
            customer_id: t.company_id.0,
            customer_name: self.companies.get(&t.company_id).cloned().flatten(),
            technician_contact_id: t.assigned_resource_id.map(|r| r.0),
            technician_full_name: technician.map(|r| format!("{} {}", r.first_name, r.last_name)),
            technician_email: technician.map(|r| r.email.clone()),
            ticket_created_date: instant_text(Some(t.created_at)).unwrap_or_default(),
            ticket_resolved_date: instant_text(t.resolved_at),
            first_response_due_date: instant_text(t.response_due_at),
            closed_ticket_due_date: instant_text(t.resolution_due_at),
            technician_first_comment_date: instant_text(t.first_response_at),
            contract_id: t.contract_id.map(|c| c.0),
            first_comment: notes.first().map(|n| n.body.clone()),
            last_end_user_comment: last_by_client.map(|n| n.body.clone()),
            last_end_user_comment_timestamp: instant_text(last_by_client.map(|n| n.created_at)),
            last_technician_comment: last_by_us.map(|n| n.body.clone()),
            last_technician_comment_timestamp: instant_text(last_by_us.map(|n| n.created_at)),
            on_site_duration_minutes: 0,
            on_site_duration_seconds: 0,
            off_site_duration_minutes: total,
            off_site_duration_seconds: total * 60,
            on_sla_duration_minutes: split.on_sla_minutes,
            on_sla_duration_seconds: split.on_sla_minutes * 60,
            off_sla_duration_minutes: split.off_sla_minutes,
            off_sla_duration_seconds: split.off_sla_minutes * 60,
            total_duration_minutes: total,
            total_duration_seconds: total * 60,
        }
    }
}

const COMMENTS_IN_PAGE_MAX: u64 = 50;

async fn comments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let id = ticket_id(&id)?;
    let paging = paging(&params, COMMENTS_IN_PAGE_MAX)?;
    let notes = service::notes(&state.store, id).await?;
    let (notes, total) = page_of(notes, paging);
    let mut conn = state.store.read().await?;
    let mut names = Names::default();
    let mut items = Vec::with_capacity(notes.len());
    for note in notes {
        let writer = match note.contact_id {
            Some(contact) => names.contact(&mut conn, contact).await?.cloned(),
            None => None,
        };
        items.push(wire::Comment::new(note, writer.as_ref()));
    }
    let path = format!("/api/v3/tickets/{}/comments", id.0);
    Ok(axum::Json(envelope(items, total, paging, &headers, &path, &params)).into_response())
}

async fn add_comment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let caller = caller(&headers, &state).await?;
    caller.require_write()?;
    let id = ticket_id(&id)?;
    let comment: wire::NewComment = body(&bytes)?;
    let text = comment
        .text()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Error::field("CommentText", "CommentText is required"))?;
    let mut conn = state.store.read().await?;
    let (author, internal, contact_id) = match (&comment.technician, &comment.end_user) {
        (Some(t), _) => {
            let name = match t.technician_id {
                Some(r) => party_rows::resource(&mut conn, ResourceId(r))
                    .await?
                    .map(|r| format!("{} {}", r.first_name, r.last_name))
                    .ok_or_else(|| {
                        Error::field(
                            "TechnicianCommentDetails.TechnicianId",
                            format!("there is no technician {r}"),
                        )
                    })?,
                None => caller.actor(),
            };
            (name, t.is_internal.unwrap_or(false), None)
        }
        (None, Some(u)) => {
            let contact = party_rows::contact(&mut conn, ContactId(u.enduser_id))
                .await?
                .ok_or_else(|| {
                    Error::field(
                        "EnduserCommentDetails.EnduserId",
                        format!("there is no end user {}", u.enduser_id),
                    )
                })?;
            (
                format!("{} {}", contact.first_name, contact.last_name),
                false,
                Some(contact.id),
            )
        }
        (None, None) => (caller.actor(), comment.is_internal.unwrap_or(false), None),
    };
    drop(conn);
    let note = fixpoint_core::time_entry::NewNote {
        title: None,
        body: text.to_owned(),
        visibility: if internal {
            fixpoint_core::time_entry::Visibility::Internal
        } else {
            fixpoint_core::time_entry::Visibility::External
        },
        contact_id,
        ..Default::default()
    };
    let at = comment.timestamp.unwrap_or_else(|| state.now());
    let added = service::add_note(&state.store, &author, id, note, at).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(wire::ActionId {
            action_id: added.id.0,
        }),
    )
        .into_response())
}

fn hours(minutes: i64) -> f64 {
    (minutes as f64 / 60.0 * 100.0).round() / 100.0
}

fn duration(ticket: TicketId, split: fixpoint_core::time_entry::SlaSplit) -> wire::Duration {
    let total = split.on_sla_minutes + split.off_sla_minutes;
    wire::Duration {
        ticket_id: Some(ticket.0),
        on_site_duration_hours: 0.0,
        off_site_duration_hours: hours(total),
        on_sla_duration_hours: hours(split.on_sla_minutes),
        off_sla_duration_hours: hours(split.off_sla_minutes),
        total_duration_hours: hours(total),
    }
}

async fn work_hours(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let id = ticket_id(&id)?;
    let work = service::work_hours(&state.store, id).await?;
    let without_id = |split| wire::Duration {
        ticket_id: None,
        ..duration(id, split)
    };
    Ok(axum::Json(wire::WorkHours {
        ticket_id: id.0,
        billable: without_id(work.billable),
        non_billable: without_id(work.non_billable),
    })
    .into_response())
}

async fn billable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    one_duration(&state, &headers, &id, |work| work.billable).await
}

async fn non_billable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    one_duration(&state, &headers, &id, |work| work.non_billable).await
}

/// One of a ticket's two durations, as `billableduration` and `nonbillableduration`
/// answer.
async fn one_duration(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    pick: fn(service::WorkHours) -> fixpoint_core::time_entry::SlaSplit,
) -> Result<Response, Error> {
    caller(headers, state).await?;
    let id = ticket_id(id)?;
    let work = service::work_hours(&state.store, id).await?;
    Ok(axum::Json(duration(id, pick(work))).into_response())
}

const RECORDS_IN_PAGE_MAX: u64 = 50;

async fn work_records(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let id = ticket_id(&id)?;
    let paging = paging(&params, RECORDS_IN_PAGE_MAX)?;
    let work = service::work_hours(&state.store, id).await?;
    let (entries, total) = page_of(work.entries, paging);
    let mut conn = state.store.read().await?;
    let mut names = Names::default();
    let mut items = Vec::with_capacity(entries.len());
    for e in entries {
        let technician = names.resource(&mut conn, e.resource_id).await?;
        let start = e.started_at;
        let end = e
            .ended_at
            .or(start.map(|s| s + jiff::SignedDuration::from_mins(e.minutes)));
        items.push(wire::WorkRecord {
            ticket_id: id.0,
            work_hours_id: e.id.0,
            start_work_hour: instant_text(start),
            end_work_hour: instant_text(end),
            technician_contact_id: e.resource_id.0,
            billiable: e.billable,
            on_customer_site: false,
            description: e.notes.clone(),
            technician_full_name: technician.map(|r| format!("{} {}", r.first_name, r.last_name)),
            technician_email: technician.map(|r| r.email.clone()),
            rate_id: None,
            rate_amount: None,
        });
    }
    let path = format!("/api/v3/tickets/{}/workhoursrecords", id.0);
    Ok(axum::Json(envelope(items, total, paging, &headers, &path, &params)).into_response())
}

/// `POST /tickets/{id}/workhours`, as Node clients send it: a time entry.
async fn log_work(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let caller = caller(&headers, &state).await?;
    caller.require_write()?;
    let id = ticket_id(&id)?;
    let work: wire::NewWork = body(&bytes)?;
    let technician = work
        .technician_contact_id
        .ok_or_else(|| Error::field("TechnicianContactID", "TechnicianContactID is required"))?;
    let at = |time: Option<&str>, field: &str| -> Result<Option<Timestamp>, Error> {
        let Some(time) = time else { return Ok(None) };
        if let Ok(t) = time.parse::<Timestamp>() {
            return Ok(Some(t));
        }
        let date = work.date.as_deref().unwrap_or_default();
        let date = date.get(..10).unwrap_or(date);
        format!("{date}T{time}")
            .parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|local| jiff::tz::TimeZone::UTC.to_timestamp(local).ok())
            .map(Some)
            .ok_or_else(|| {
                Error::field(
                    field,
                    format!(
                        "'{time}' is not a time such as 09:30 (with Date 2026-11-24) or an instant"
                    ),
                )
            })
    };
    let entry = fixpoint_core::time_entry::NewTimeEntry {
        resource_id: ResourceId(technician),
        started_at: at(work.start_time.as_deref(), "StartTime")?,
        ended_at: at(work.end_time.as_deref(), "EndTime")?,
        minutes: None,
        billable: work.is_billable.unwrap_or(true),
        notes: work.description,
    };
    let logged = service::log_time(&state.store, &caller.actor(), id, entry, state.now()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(wire::ActionId {
            action_id: logged.id.0,
        }),
    )
        .into_response())
}
