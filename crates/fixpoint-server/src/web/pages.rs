//! The pages: my work, the ticket list, a ticket, a new ticket.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use fixpoint_core::filter::{SlaStateFilter, Sort, SortKey, TicketFilter};
use fixpoint_core::ids::*;
use fixpoint_core::query::{Column, Field, Node, Test};
use fixpoint_core::sla::{ClockView, SlaState};
use fixpoint_core::ticket::{NewTicket, Source, TicketPatch};
use fixpoint_core::time_entry::{NewNote, NewTimeEntry, Visibility};
use fixpoint_store::parties::{Page, PartyFilter};
use fixpoint_store::tickets::Cursor;
use jiff::Timestamp;
use serde::Deserialize;

use super::{HasCsrf, Refusal, failure, html, posted, signed_in};
use crate::app::AppState;
use crate::errors::ApiError;
use crate::service::parties as party_service;
use crate::service::people::Person;
use crate::service::tickets::{self as service, SlaSetup, TicketView, Total};

/// Pickers and lists on a page show at most this many companies, people or queues.
const EVERY: Page = Page {
    after: None,
    limit: 10_000,
};

fn of_company(company: CompanyId) -> PartyFilter {
    PartyFilter {
        company_id: Some(company),
        ..Default::default()
    }
}

/// One choice in a select.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn opt(value: impl ToString, label: impl Into<String>, selected: bool) -> Opt {
    Opt {
        value: value.to_string(),
        label: label.into(),
        selected,
    }
}

/// A ticket as a row of a list.
pub struct Row {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub company: String,
    pub status: String,
    pub priority: String,
    pub assignee: String,
    pub sla_class: &'static str,
    pub due_iso: String,
    pub due_label: String,
}

pub struct SortLinks {
    pub number: String,
    pub priority: String,
    pub due: String,
}

pub struct Group {
    pub title: String,
    pub rows: Vec<Row>,
    pub sort_links: SortLinks,
}

#[derive(Default)]
pub struct Filters {
    pub q: String,
    pub open: String,
}

#[derive(Template)]
#[template(path = "tickets.html")]
struct TicketsPage<'a> {
    signed_in: Option<&'a Person>,
    heading: &'a str,
    show_filters: bool,
    filters: Filters,
    statuses: Vec<Opt>,
    priorities: Vec<Opt>,
    sla_states: Vec<Opt>,
    companies: Vec<Opt>,
    queues: Vec<Opt>,
    assignees: Vec<Opt>,
    groups: Vec<Group>,
    next_page: Option<String>,
}

fn class_of(state: SlaState) -> &'static str {
    match state {
        SlaState::NotStarted => "not_started",
        SlaState::Running => "running",
        SlaState::Paused => "paused",
        SlaState::AtRisk => "at_risk",
        SlaState::Met => "met",
        SlaState::Breached => "breached",
    }
}

fn label_of(clock: &ClockView) -> String {
    let minutes = clock.remaining_seconds.abs() / 60;
    let span = if minutes >= 60 {
        format!("{}h {}m", minutes / 60, minutes % 60)
    } else {
        format!("{minutes}m")
    };
    match clock.state {
        SlaState::Met => "met".to_owned(),
        SlaState::Paused => "paused".to_owned(),
        SlaState::Breached => format!("overdue {span}"),
        _ => format!("due in {span}"),
    }
}

fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// Names of the companies on a page of tickets.
async fn company_names(
    state: &AppState,
    views: &[TicketView],
) -> Result<HashMap<i64, String>, ApiError> {
    let mut company_ids: Vec<i64> = views.iter().map(|v| v.ticket.company_id.0).collect();
    company_ids.sort();
    company_ids.dedup();
    let mut companies = HashMap::new();
    if !company_ids.is_empty() {
        let filter = PartyFilter {
            ids: Some(company_ids),
            ..Default::default()
        };
        for c in party_service::companies(&state.store, &filter, &EVERY).await? {
            companies.insert(c.id.0, c.name);
        }
    }
    Ok(companies)
}

/// Technicians by id, as pages name them.
fn person_names(people: &[fixpoint_core::parties::Resource]) -> HashMap<i64, String> {
    people
        .iter()
        .map(|r| (r.id.0, format!("{} {}", r.first_name, r.last_name)))
        .collect()
}

async fn technicians(state: &AppState) -> Result<Vec<fixpoint_core::parties::Resource>, ApiError> {
    let filter = PartyFilter {
        active: Some(true),
        ..Default::default()
    };
    Ok(party_service::resources(&state.store, &filter, &EVERY).await?)
}

async fn queues(state: &AppState) -> Result<Vec<fixpoint_core::parties::Queue>, ApiError> {
    let filter = PartyFilter {
        active: Some(true),
        ..Default::default()
    };
    Ok(party_service::queues(&state.store, &filter, &EVERY).await?)
}

async fn rows(
    state: &AppState,
    setup: &SlaSetup,
    people: &HashMap<i64, String>,
    views: &[TicketView],
) -> Result<Vec<Row>, ApiError> {
    let companies = company_names(state, views).await?;
    let c = setup.catalog();
    Ok(views
        .iter()
        .map(|v| {
            let t = &v.ticket;
            let clock = v.sla.as_ref().and_then(|s| s.resolution.as_ref());
            Row {
                id: t.id.0,
                number: t.number.clone(),
                title: t.title.clone(),
                company: companies.get(&t.company_id.0).cloned().unwrap_or_default(),
                status: c
                    .status(t.status_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                priority: c
                    .priority(t.priority_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                assignee: t
                    .assigned_resource_id
                    .and_then(|r| people.get(&r.0).cloned())
                    .unwrap_or_else(|| "—".to_owned()),
                sla_class: clock.map_or("none", |c| class_of(c.state)),
                due_iso: clock.map(|c| c.due_at.to_string()).unwrap_or_default(),
                due_label: clock.map_or_else(|| "—".to_owned(), label_of),
            }
        })
        .collect())
}

async fn setup(state: &AppState) -> Result<SlaSetup, ApiError> {
    let mut conn = state.store.read().await?;
    Ok(SlaSetup::load(&state.store, &mut conn).await?)
}

fn sort_links(base: &str) -> SortLinks {
    let with = |sort: &str| {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}sort={sort}")
    };
    SortLinks {
        number: with("-id"),
        priority: with("priority"),
        due: with("due_at"),
    }
}

/// Soonest due first: at risk and breached come to the top.
const BY_DUE: Sort = Sort {
    key: SortKey::DueAt,
    descending: false,
};

pub async fn my_work(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let me = match signed_in(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(to_sign_in) => return to_sign_in,
    };
    match my_work_page(&state, &me).await {
        Ok(page) => page,
        Err(e) => failure(e.status(), &e.detail),
    }
}

async fn my_work_page(state: &AppState, me: &Person) -> Result<Response, ApiError> {
    let setup = setup(state).await?;
    let people = person_names(&technicians(state).await?);
    let now = state.now();
    let open = TicketFilter {
        open: Some(true),
        ..Default::default()
    };
    let mine = TicketFilter {
        assigned_resource_ids: vec![me.resource.id],
        ..open.clone()
    }
    .to_query();
    // Unassigned tickets of the queues I work; of every queue when I am in none.
    let my_queues = party_service::queues_of(&state.store, me.resource.id).await?;
    let unassigned_title = if my_queues.is_empty() {
        "Unassigned (you work no queue yet: every queue's)"
    } else {
        "Unassigned in my queues"
    };
    let unassigned = TicketFilter {
        queue_ids: my_queues,
        ..open
    };
    let unassigned = Node::And(vec![
        unassigned.to_query(),
        Node::Leaf(Field::Column(Column::AssignedResourceId), Test::NotExist),
    ]);
    let mut groups = Vec::new();
    for (title, filter) in [("Assigned to me", mine), (unassigned_title, unassigned)] {
        let page = service::list(&state.store, &filter, BY_DUE, 50, None, now, Total::Skip).await?;
        groups.push(Group {
            title: title.to_owned(),
            rows: rows(state, &setup, &people, &page.items).await?,
            sort_links: sort_links("/tickets?open=true"),
        });
    }
    Ok(html(&TicketsPage {
        signed_in: Some(me),
        heading: "My work",
        show_filters: false,
        filters: Filters::default(),
        statuses: Vec::new(),
        priorities: Vec::new(),
        sla_states: Vec::new(),
        companies: Vec::new(),
        queues: Vec::new(),
        assignees: Vec::new(),
        groups,
        next_page: None,
    }))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    status_id: Option<String>,
    priority_id: Option<String>,
    company_id: Option<String>,
    queue_id: Option<String>,
    assigned_resource_id: Option<String>,
    open: Option<String>,
    sla_state: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

fn one_id(text: &Option<String>) -> Option<i64> {
    text.as_deref().and_then(|t| t.trim().parse().ok())
}

pub async fn tickets(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let me = match signed_in(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(to_sign_in) => return to_sign_in,
    };
    let query: ListQuery = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    match tickets_page(&state, &me, &uri, query).await {
        Ok(page) => page,
        Err(e) => failure(e.status(), &e.detail),
    }
}

async fn tickets_page(
    state: &AppState,
    me: &Person,
    uri: &Uri,
    q: ListQuery,
) -> Result<Response, ApiError> {
    let setup = setup(state).await?;
    let technicians = technicians(state).await?;
    let people = person_names(&technicians);
    let (q_queue, q_assignee, q_company) = (
        q.queue_id.clone(),
        q.assigned_resource_id.clone(),
        q.company_id.clone(),
    );
    let c = setup.catalog();
    let text = q.q.clone().filter(|t| !t.trim().is_empty());
    let sla_state = q
        .sla_state
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| SlaStateFilter::parse(s).ok());
    let filter = TicketFilter {
        status_ids: one_id(&q.status_id).map(StatusId).into_iter().collect(),
        priority_ids: one_id(&q.priority_id).map(PriorityId).into_iter().collect(),
        company_ids: one_id(&q.company_id).map(CompanyId).into_iter().collect(),
        queue_ids: one_id(&q.queue_id).map(QueueId).into_iter().collect(),
        assigned_resource_ids: one_id(&q.assigned_resource_id)
            .map(ResourceId)
            .into_iter()
            .collect(),
        open: match q.open.as_deref() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        },
        text: text.clone(),
        sla_state,
        ..Default::default()
    };
    let sort = match q.sort.as_deref().and_then(|s| Sort::parse(s).ok()) {
        Some(sort) if sort.key != SortKey::Relevance || text.is_some() => sort,
        _ if text.is_some() => Sort {
            key: SortKey::Relevance,
            descending: false,
        },
        _ => Sort {
            key: SortKey::CreatedAt,
            descending: true,
        },
    };
    let after = q
        .cursor
        .as_deref()
        .and_then(Cursor::decode)
        .filter(|c| c.fits(sort));
    let page = service::list(
        &state.store,
        &filter.to_query(),
        sort,
        50,
        after,
        state.now(),
        Total::Skip,
    )
    .await?;
    let base = {
        let kept: Vec<(String, String)> = uri
            .query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .filter(|(k, _)| k != "sort" && k != "cursor")
                    .collect()
            })
            .unwrap_or_default();
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(kept)
            .finish();
        if query.is_empty() {
            "/tickets".to_owned()
        } else {
            format!("/tickets?{query}")
        }
    };
    let next_page = page.next_cursor.map(|cursor| {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{sep}sort={}{}&cursor={}",
            if sort.descending { "-" } else { "" },
            sort.key.name(),
            cursor.encode()
        )
    });
    let mut statuses: Vec<_> = c.statuses.iter().collect();
    statuses.sort_by_key(|s| s.sort_order);
    Ok(html(&TicketsPage {
        signed_in: Some(me),
        heading: "Tickets",
        show_filters: true,
        filters: Filters {
            q: q.q.unwrap_or_default(),
            open: q.open.unwrap_or_default(),
        },
        statuses: statuses
            .iter()
            .map(|s| opt(s.id.0, s.name.clone(), one_id(&q.status_id) == Some(s.id.0)))
            .collect(),
        priorities: c
            .priorities
            .iter()
            .map(|p| {
                opt(
                    p.id.0,
                    p.name.clone(),
                    one_id(&q.priority_id) == Some(p.id.0),
                )
            })
            .collect(),
        sla_states: SlaStateFilter::ALL
            .iter()
            .map(|s| opt(s.name(), s.name().replace('_', " "), Some(*s) == sla_state))
            .collect(),
        companies: party_service::companies(
            &state.store,
            &PartyFilter {
                active: Some(true),
                ..Default::default()
            },
            &EVERY,
        )
        .await?
        .into_iter()
        .map(|c| opt(c.id.0, c.name, one_id(&q_company) == Some(c.id.0)))
        .collect(),
        queues: queues(state)
            .await?
            .into_iter()
            .map(|q| opt(q.id.0, q.name, one_id(&q_queue) == Some(q.id.0)))
            .collect(),
        assignees: technicians
            .iter()
            .map(|r| {
                opt(
                    r.id.0,
                    format!("{} {}", r.first_name, r.last_name),
                    one_id(&q_assignee) == Some(r.id.0),
                )
            })
            .collect(),
        groups: vec![Group {
            title: String::new(),
            rows: rows(state, &setup, &people, &page.items).await?,
            sort_links: sort_links(&base),
        }],
        next_page,
    }))
}

/// A ticket as its page shows it.
pub struct Shown {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub resolution: String,
    pub escalation_reason: String,
    /// `Name: value` lines.
    pub custom_fields: String,
    /// `datetime-local` form: `2026-11-30T14:00`, UTC.
    pub due_at: String,
    pub company: String,
    pub created: String,
    pub version: i64,
}

pub struct ClockBadge {
    pub name: &'static str,
    pub class: &'static str,
    pub due_iso: String,
    pub label: String,
}

pub struct Event {
    pub kind: String,
    pub at: String,
    pub who: String,
    pub what: String,
    pub text: String,
    /// A download, for attachments.
    pub link: String,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage<'a> {
    signed_in: Option<&'a Person>,
    csrf: &'a str,
    problem: Option<String>,
    t: Shown,
    priorities: Vec<Opt>,
    technicians: Vec<Opt>,
    queues: Vec<Opt>,
    contacts: Vec<Opt>,
    secondaries: Vec<Opt>,
    contracts: Vec<Opt>,
    policies: Vec<Opt>,
    types: Vec<Opt>,
    /// The four category levels, empty where unset.
    categories: Vec<String>,
    moves: Vec<Opt>,
    clocks: Vec<ClockBadge>,
    timeline: Vec<Event>,
}

pub async fn ticket(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<i64>,
) -> Response {
    let me = match signed_in(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(to_sign_in) => return to_sign_in,
    };
    ticket_page(&state, &me, id, None, StatusCode::OK).await
}

async fn ticket_page(
    state: &AppState,
    me: &Person,
    id: i64,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    match render_ticket(state, me, id, problem).await {
        Ok(page) => (status, page).into_response(),
        Err(e) => failure(e.status(), &e.detail),
    }
}

async fn render_ticket(
    state: &AppState,
    me: &Person,
    id: i64,
    problem: Option<String>,
) -> Result<Response, ApiError> {
    let view = service::get(&state.store, TicketId(id), state.now()).await?;
    let setup = setup(state).await?;
    let c = setup.catalog();
    let t = &view.ticket;
    let company = party_service::company(&state.store, t.company_id).await?;
    let people = technicians(state).await?;
    let mut moves: Vec<Opt> = c
        .statuses
        .iter()
        .filter(|s| s.active && s.id != t.status_id && c.allows(t.status_id, s.id))
        .map(|s| opt(s.id.0, s.name.clone(), false))
        .collect();
    moves.sort_by_key(|m| {
        c.status(StatusId(m.value.parse().unwrap_or_default()))
            .map_or(0, |s| s.sort_order)
    });
    let clocks = view
        .sla
        .as_ref()
        .map(|sla| {
            [
                ("First response", sla.first_response.as_ref()),
                ("Resolution plan", sla.resolution_plan.as_ref()),
                ("Resolution", sla.resolution.as_ref()),
            ]
            .into_iter()
            .filter_map(|(name, clock)| {
                clock.map(|clock| ClockBadge {
                    name,
                    class: class_of(clock.state),
                    due_iso: clock.due_at.to_string(),
                    label: format!("{} ({})", label_of(clock), when(clock.due_at)),
                })
            })
            .collect()
        })
        .unwrap_or_default();
    let mut timeline = Vec::new();
    for note in service::notes(&state.store, t.id).await? {
        timeline.push((
            note.created_at,
            Event {
                kind: format!(
                    "note-{}",
                    if note.visibility == Visibility::Internal {
                        "internal"
                    } else {
                        "external"
                    }
                ),
                at: when(note.created_at),
                who: note.author.clone(),
                what: if note.visibility == Visibility::Internal {
                    "added an internal note".to_owned()
                } else {
                    "added a note the client sees".to_owned()
                },
                text: note.body.clone(),
                link: String::new(),
            },
        ));
    }
    let names = person_names(&people);
    for entry in service::time_entries(&state.store, t.id).await? {
        timeline.push((
            entry.created_at,
            Event {
                kind: "time".to_owned(),
                at: when(entry.created_at),
                who: names.get(&entry.resource_id.0).cloned().unwrap_or_default(),
                what: format!(
                    "logged {} minutes{}",
                    entry.minutes,
                    if entry.billable { " (billable)" } else { "" }
                ),
                text: entry.notes.clone().unwrap_or_default(),
                link: String::new(),
            },
        ));
    }
    for file in crate::service::attachments::list(&state.store, t.id).await? {
        timeline.push((
            file.created_at,
            Event {
                kind: "attachment".to_owned(),
                at: when(file.created_at),
                who: file.author.clone(),
                what: format!("attached ({} bytes)", file.size),
                text: file.filename.clone(),
                link: format!("/tickets/{}/attachments/{}", t.id, file.id),
            },
        ));
    }
    for mail in crate::service::mail::mail_of_ticket(&state.store, t.id).await? {
        let kind = mail.kind.replace('_', " ");
        let state_of = match (mail.state.as_str(), &mail.last_error) {
            ("sent", _) => "sent".to_owned(),
            (state, Some(error)) => format!("{state} after {} attempts: {error}", mail.attempts),
            (state, None) => state.to_owned(),
        };
        let mut to = mail.recipients.join(", ");
        if !mail.cc.is_empty() {
            to.push_str(&format!(" (cc {})", mail.cc.join(", ")));
        }
        timeline.push((
            mail.created_at,
            Event {
                kind: "mail".to_owned(),
                at: when(mail.created_at),
                who: "Fixpoint".to_owned(),
                what: format!("mailed the {kind} to {to} — {state_of}"),
                text: mail.subject.clone(),
                link: String::new(),
            },
        ));
    }
    for change in service::history(&state.store, t.id).await? {
        if matches!(
            change.field.as_str(),
            "note_added" | "time_logged" | "attachment_added"
        ) {
            continue;
        }
        // Ids in the history read as the names a technician knows.
        let shown = |value: &Option<String>| -> Option<String> {
            let value = value.as_ref()?;
            let id: i64 = value.parse().unwrap_or(i64::MIN);
            Some(
                match change.field.as_str() {
                    "status_id" => c.status(StatusId(id)).map(|s| s.name.clone()),
                    "priority_id" => c.priority(PriorityId(id)).map(|p| p.name.clone()),
                    "assigned_resource_id" => names.get(&id).cloned(),
                    _ => None,
                }
                .unwrap_or_else(|| value.clone()),
            )
        };
        let field = change.field.trim_end_matches("_id").replace('_', " ");
        let what = match (shown(&change.old_value), shown(&change.new_value)) {
            (Some(old), Some(new)) => format!("{field}: {old} → {new}"),
            (None, Some(new)) => format!("{field}: {new}"),
            (Some(old), None) => format!("{field}: {old} removed"),
            (None, None) => field,
        };
        timeline.push((
            change.at,
            Event {
                kind: "history".to_owned(),
                at: when(change.at),
                who: change.actor.clone(),
                what,
                text: String::new(),
                link: String::new(),
            },
        ));
    }
    timeline.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    Ok(html(&TicketPage {
        signed_in: Some(me),
        csrf: &me.csrf,
        problem,
        t: Shown {
            id: t.id.0,
            number: t.number.clone(),
            title: t.title.clone(),
            description: t.description.clone().unwrap_or_default(),
            status: c
                .status(t.status_id)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            resolution: t.resolution.clone().unwrap_or_default(),
            escalation_reason: t.escalation_reason.clone().unwrap_or_default(),
            custom_fields: t
                .custom_fields
                .iter()
                .map(|(name, value)| format!("{name}: {value}"))
                .collect::<Vec<_>>()
                .join("\n"),
            due_at: t
                .due_at
                .map(|d| d.strftime("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default(),
            company: company.name,
            created: when(t.created_at),
            version: t.version,
        },
        priorities: c
            .priorities
            .iter()
            .map(|p| opt(p.id.0, p.name.clone(), p.id == t.priority_id))
            .collect(),
        technicians: people
            .iter()
            .map(|r| {
                opt(
                    r.id.0,
                    format!("{} {}", r.first_name, r.last_name),
                    Some(r.id) == t.assigned_resource_id,
                )
            })
            .collect(),
        queues: queues(state)
            .await?
            .into_iter()
            .map(|q| opt(q.id.0, q.name, Some(q.id) == t.queue_id))
            .collect(),
        contacts: party_service::contacts(&state.store, &of_company(t.company_id), &EVERY)
            .await?
            .into_iter()
            .map(|c| {
                opt(
                    c.id.0,
                    format!("{} {}", c.first_name, c.last_name),
                    Some(c.id) == t.contact_id,
                )
            })
            .collect(),
        secondaries: people
            .iter()
            .map(|r| {
                opt(
                    r.id.0,
                    format!("{} {}", r.first_name, r.last_name),
                    t.secondary_resource_ids.contains(&r.id),
                )
            })
            .collect(),
        contracts: party_service::contracts(&state.store, &of_company(t.company_id), &EVERY)
            .await?
            .into_iter()
            .map(|k| opt(k.id.0, k.name, Some(k.id) == t.contract_id))
            .collect(),
        policies: setup
            .policies()
            .iter()
            .map(|p| opt(p.id.0, p.name.clone(), Some(p.id) == t.sla_policy_id))
            .collect(),
        types: c
            .ticket_types
            .iter()
            .map(|ty| opt(ty.id.0, ty.name.clone(), ty.id == t.type_id))
            .collect(),
        categories: (0..fixpoint_core::ticket::CATEGORY_LEVELS)
            .map(|i| t.categories.get(i).cloned().unwrap_or_default())
            .collect(),
        moves,
        clocks,
        timeline: timeline.into_iter().map(|(_, e)| e).collect(),
    }))
}

/// Writes need a technician or an admin.
fn may_write(me: &Person) -> Result<(), Refusal> {
    if me.can_write() {
        Ok(())
    } else {
        Err(Refusal {
            status: StatusCode::FORBIDDEN,
            message: "your role reads tickets but does not change them",
        })
    }
}

/// A form posted by someone whose role changes tickets.
async fn posted_by_writer<T: serde::de::DeserializeOwned + HasCsrf>(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> Result<(Person, T), Response> {
    let (me, form) = posted::<T>(state, headers, uri, body).await?;
    may_write(&me).map_err(IntoResponse::into_response)?;
    Ok((me, form))
}

/// After a change to a ticket: back to it, or the ticket again with what the core
/// refused.
async fn back_to_ticket<T>(
    state: &AppState,
    me: &Person,
    id: i64,
    outcome: Result<T, crate::service::ServiceError>,
) -> Response {
    match outcome {
        Ok(_) => Redirect::to(&format!("/tickets/{id}")).into_response(),
        Err(e) => {
            let (status, message) = refusal(e.into());
            ticket_page(state, me, id, Some(message), status).await
        }
    }
}

/// A refused change, shown on the ticket with what the core said.
fn refusal(e: ApiError) -> (StatusCode, String) {
    let status = e.status();
    let message = if e.errors.is_empty() {
        e.detail
    } else {
        e.errors
            .iter()
            .map(|v| v.message.clone())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (status, message)
}

#[derive(Deserialize)]
pub struct ChangeForm {
    csrf: String,
    version: Option<i64>,
    title: Option<String>,
    description: Option<String>,
    priority_id: Option<String>,
    assigned_resource_id: Option<String>,
    resolution: Option<String>,
    escalation_reason: Option<String>,
    queue_id: Option<String>,
    due_at: Option<String>,
    contact_id: Option<String>,
    contract_id: Option<String>,
    sla_policy_id: Option<String>,
    /// Present when the form showed the secondary technicians (a multi-select sends
    /// nothing when none is chosen).
    secondaries_shown: Option<String>,
    type_id: Option<String>,
    custom_fields: Option<String>,
    category_1: Option<String>,
    category_2: Option<String>,
    category_3: Option<String>,
    category_4: Option<String>,
    status_id: Option<String>,
}

impl HasCsrf for ChangeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn blank_is_none(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

pub async fn change_ticket(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let (me, form) = match posted_by_writer::<ChangeForm>(&state, &headers, &uri, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    // The custom fields as written; a name no longer there is removed.
    let custom_fields = match form.custom_fields.as_deref() {
        None => None,
        Some(text) => {
            let mut fields = std::collections::BTreeMap::new();
            for (n, line) in text.lines().map(str::trim).enumerate() {
                if line.is_empty() {
                    continue;
                }
                let Some((name, value)) = line.split_once(':') else {
                    let message = format!(
                        "custom field line {} ('{line}') is not 'Name: value'",
                        n + 1
                    );
                    return ticket_page(
                        &state,
                        &me,
                        id,
                        Some(message),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                };
                fields.insert(
                    name.trim().to_owned(),
                    blank_is_none(Some(value.trim().to_owned())),
                );
            }
            if let Ok(current) = service::get(&state.store, TicketId(id), state.now()).await {
                for name in current.ticket.custom_fields.keys() {
                    fields.entry(name.clone()).or_insert(None);
                }
            }
            Some(fields)
        }
    };
    let patch = TicketPatch {
        custom_fields,
        title: blank_is_none(form.title),
        description: form.description.map(|d| blank_is_none(Some(d))),
        priority_id: one_id(&form.priority_id).map(PriorityId),
        assigned_resource_id: form
            .assigned_resource_id
            .map(|a| a.trim().parse().ok().map(ResourceId)),
        resolution: form.resolution.map(|r| blank_is_none(Some(r))),
        escalation_reason: form.escalation_reason.map(|r| blank_is_none(Some(r))),
        queue_id: form.queue_id.map(|q| q.trim().parse().ok().map(QueueId)),
        contact_id: form
            .contact_id
            .map(|c| c.trim().parse().ok().map(ContactId)),
        contract_id: form
            .contract_id
            .map(|c| c.trim().parse().ok().map(ContractId)),
        sla_policy_id: form
            .sla_policy_id
            .map(|p| p.trim().parse().ok().map(SlaPolicyId)),
        // A multi-select repeats its name, which the form struct cannot hold.
        secondary_resource_ids: form.secondaries_shown.is_some().then(|| {
            form_urlencoded::parse(&body)
                .filter(|(k, _)| k == "secondary_resource_ids")
                .filter_map(|(_, v)| v.trim().parse().ok().map(ResourceId))
                .collect()
        }),
        type_id: one_id(&form.type_id).map(TicketTypeId),
        // The levels as given, up to the last filled one; the core refuses a gap.
        categories: {
            let levels = [
                &form.category_1,
                &form.category_2,
                &form.category_3,
                &form.category_4,
            ];
            levels.iter().any(|l| l.is_some()).then(|| {
                let given: Vec<String> = levels
                    .iter()
                    .map(|l| l.as_deref().unwrap_or("").trim().to_owned())
                    .collect();
                let last = given
                    .iter()
                    .rposition(|l| !l.is_empty())
                    .map_or(0, |i| i + 1);
                given[..last].to_vec()
            })
        },
        due_at: match form.due_at.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(local) => match fixpoint_core::query::parse_instant(&format!("{local}:00Z")) {
                Some(due) => Some(Some(due)),
                None => {
                    let message = format!("'{local}' is not a date and time");
                    return ticket_page(
                        &state,
                        &me,
                        id,
                        Some(message),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
            },
        },
        status_id: one_id(&form.status_id).map(StatusId),
        ..Default::default()
    };
    let outcome = service::update(
        &state.store,
        &me.actor(),
        TicketId(id),
        patch,
        form.version,
        state.now(),
    )
    .await;
    back_to_ticket(&state, &me, id, outcome).await
}

#[derive(Deserialize)]
pub struct NoteForm {
    csrf: String,
    body: String,
    visibility: Option<String>,
}

impl HasCsrf for NoteForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn add_note(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let (me, form) = match posted_by_writer::<NoteForm>(&state, &headers, &uri, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let note = NewNote {
        title: None,
        body: form.body,
        visibility: if form.visibility.as_deref() == Some("external") {
            Visibility::External
        } else {
            Visibility::Internal
        },
        ..Default::default()
    };
    let outcome =
        service::add_note(&state.store, &me.actor(), TicketId(id), note, state.now()).await;
    back_to_ticket(&state, &me, id, outcome).await
}

#[derive(Deserialize)]
pub struct TimeForm {
    csrf: String,
    minutes: String,
    notes: Option<String>,
    billable: Option<String>,
}

impl HasCsrf for TimeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn log_time(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let (me, form) = match posted_by_writer::<TimeForm>(&state, &headers, &uri, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let Ok(minutes) = form.minutes.trim().parse::<i64>() else {
        let message = format!("'{}' is not a number of minutes", form.minutes);
        return ticket_page(
            &state,
            &me,
            id,
            Some(message),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let entry = NewTimeEntry {
        resource_id: me.resource.id,
        started_at: None,
        ended_at: None,
        minutes: Some(minutes),
        billable: form.billable.is_some(),
        notes: blank_is_none(form.notes),
    };
    let outcome =
        service::log_time(&state.store, &me.actor(), TicketId(id), entry, state.now()).await;
    back_to_ticket(&state, &me, id, outcome).await
}

pub struct ContactOpt {
    pub value: i64,
    pub label: String,
    pub company: i64,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "new_ticket.html")]
struct NewTicketPage<'a> {
    signed_in: Option<&'a Person>,
    csrf: &'a str,
    problem: Option<String>,
    companies: Vec<Opt>,
    contacts: Vec<ContactOpt>,
    priorities: Vec<Opt>,
    title: String,
    description: String,
}

#[derive(Deserialize, Default)]
pub struct NewTicketForm {
    csrf: String,
    company_id: Option<String>,
    contact_id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    priority_id: Option<String>,
}

impl HasCsrf for NewTicketForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn new_ticket_page(
    state: &AppState,
    me: &Person,
    form: &NewTicketForm,
    problem: Option<String>,
) -> Result<Response, ApiError> {
    let setup = setup(state).await?;
    let active = PartyFilter {
        active: Some(true),
        ..Default::default()
    };
    let companies = party_service::companies(&state.store, &active, &EVERY).await?;
    let contacts = party_service::contacts(&state.store, &active, &EVERY).await?;
    let chosen_company = one_id(&form.company_id);
    let chosen_contact = one_id(&form.contact_id);
    let chosen_priority =
        one_id(&form.priority_id).or_else(|| setup.catalog().default_priority().map(|p| p.id.0));
    Ok(html(&NewTicketPage {
        signed_in: Some(me),
        csrf: &me.csrf,
        problem,
        companies: companies
            .iter()
            .map(|c| opt(c.id.0, c.name.clone(), Some(c.id.0) == chosen_company))
            .collect(),
        contacts: contacts
            .iter()
            .map(|c| ContactOpt {
                value: c.id.0,
                label: format!("{} {}", c.first_name, c.last_name),
                company: c.company_id.0,
                selected: Some(c.id.0) == chosen_contact,
            })
            .collect(),
        priorities: setup
            .catalog()
            .priorities
            .iter()
            .map(|p| opt(p.id.0, p.name.clone(), Some(p.id.0) == chosen_priority))
            .collect(),
        title: form.title.clone().unwrap_or_default(),
        description: form.description.clone().unwrap_or_default(),
    }))
}

pub async fn new_ticket(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let me = match signed_in(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(to_sign_in) => return to_sign_in,
    };
    new_ticket_page(&state, &me, &NewTicketForm::default(), None)
        .await
        .unwrap_or_else(|e| failure(e.status(), &e.detail))
}

pub async fn open_ticket(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (me, form) = match posted_by_writer::<NewTicketForm>(&state, &headers, &uri, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let Some(company) = one_id(&form.company_id) else {
        let message = "Choose the company.".to_owned();
        return form_again(
            &state,
            &me,
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
            message,
        )
        .await;
    };
    let new = NewTicket {
        title: form.title.clone().unwrap_or_default(),
        description: blank_is_none(form.description.clone()),
        company_id: CompanyId(company),
        contact_id: one_id(&form.contact_id).map(ContactId),
        priority_id: one_id(&form.priority_id).map(PriorityId),
        source: Some(Source::Agent),
        ..Default::default()
    };
    match service::create(&state.store, &me.actor(), new, None, state.now()).await {
        Ok(service::Created::New(outcome)) => {
            Redirect::to(&format!("/tickets/{}", outcome.view.ticket.id)).into_response()
        }
        Ok(service::Created::Replayed(_)) => Redirect::to("/tickets").into_response(),
        Err(e) => {
            let (status, message) = refusal(e.into());
            form_again(&state, &me, &form, status, message).await
        }
    }
}

/// The new-ticket form again, filled in as sent, with what was wrong.
async fn form_again(
    state: &AppState,
    me: &Person,
    form: &NewTicketForm,
    status: StatusCode,
    message: String,
) -> Response {
    let page = new_ticket_page(state, me, form, Some(message))
        .await
        .unwrap_or_else(|e| failure(e.status(), &e.detail));
    (status, page).into_response()
}

#[derive(Deserialize)]
pub struct SimilarQuery {
    company_id: i64,
    title: String,
}

/// The duplicate warning of the new-ticket form.
pub async fn similar(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(to_sign_in) = signed_in(&state, &headers, &uri).await {
        return to_sign_in;
    }
    let Some(query) = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str::<SimilarQuery>(q).ok())
    else {
        return (StatusCode::BAD_REQUEST, "company_id and title are required").into_response();
    };
    match service::similar(
        &state.store,
        CompanyId(query.company_id),
        &query.title,
        5,
        state.now(),
    )
    .await
    {
        Ok(found) => axum::Json(
            found
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "id": s.view.ticket.id.0,
                        "number": s.view.ticket.number,
                        "title": s.view.ticket.title,
                        "similarity": s.similarity,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            (e.status(), e.detail).into_response()
        }
    }
}

/// A file on a ticket, for a signed-in person (the same bytes as the API's).
pub async fn attachment(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((ticket, id)): Path<(i64, i64)>,
) -> Response {
    if let Err(to_sign_in) = signed_in(&state, &headers, &uri).await {
        return to_sign_in;
    }
    match crate::service::attachments::get(&state.store, AttachmentId(id)).await {
        Ok((file, content)) if file.ticket_id == TicketId(ticket) => {
            crate::api::attachments::file_response(&file, content)
        }
        Ok(_) => failure(
            StatusCode::NOT_FOUND,
            "there is no such file on this ticket",
        ),
        Err(e) => {
            let e = ApiError::from(e);
            failure(e.status(), &e.detail)
        }
    }
}
