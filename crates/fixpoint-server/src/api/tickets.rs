//! `/tickets` and everything on a ticket.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fixpoint_core::ErrorCode;
use fixpoint_core::filter::{SlaStateFilter, Sort, SortKey, TicketFilter};
use fixpoint_core::ids::*;
use fixpoint_core::query::Node;
use fixpoint_core::ticket::{HistoryEntry, NewTicket, TicketPatch};
use fixpoint_core::time_entry::{
    BillableSummary, NewNote, NewTimeEntry, Note, NotePatch, TimeEntry, TimeEntryPatch,
};
use fixpoint_store::auth::StoredResponse;
use fixpoint_store::tickets::Cursor;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Id, Query, id_list, if_match, instant, limit};
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult, Problem};
use crate::json::{self, Json};
use crate::service::tickets::{self as service, Created, Idempotency, TicketOutcome, TicketView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(search))
        .routes(routes!(get, update, delete))
        .routes(routes!(add_note, notes))
        .routes(routes!(update_note, delete_note))
        .routes(routes!(log_time, time_entries))
        .routes(routes!(update_time_entry, delete_time_entry))
        .routes(routes!(billable))
        .routes(routes!(history))
}

const IDEMPOTENCY_KEY_MAX: usize = 255;

/// Open a ticket. Omitted status, priority and type default to New, Medium and
/// Service Request. Send an `Idempotency-Key` header to make retries safe: a retry
/// with the same key and body returns the first response, never a second ticket.
#[utoipa::path(
    post, path = "/tickets", tag = "tickets",
    request_body = NewTicket,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries of this create safe (at most 255 characters)")),
    responses(
        (status = 201, description = "Created", body = TicketOutcome),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field or rule is violated", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> ApiResult<Response> {
    caller.require_write()?;
    let key = idempotency_key(request.headers())?;
    let (body, _) = json::raw_body(request, &state).await?;
    let new: NewTicket = json::parse(&body)?;
    let respond = |outcome: &TicketOutcome| StoredResponse {
        request_digest: String::new(),
        response_status: i64::from(StatusCode::CREATED.as_u16()),
        response_body: serde_json::to_string(outcome).unwrap_or_default(),
    };
    // Only a create with an Idempotency-Key remembers its body's digest.
    let request_digest = key.as_ref().map_or_else(String::new, |_| {
        Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    });
    let digest_for_store = request_digest.clone();
    let respond_with_digest = move |outcome: &TicketOutcome| StoredResponse {
        request_digest: digest_for_store.clone(),
        ..respond(outcome)
    };
    let idempotency = key.as_deref().map(|key| Idempotency {
        api_key_id: caller.key_id,
        key,
        request_digest: request_digest.clone(),
        respond: &respond_with_digest,
    });
    match service::create(&state.store, &caller.actor(), new, idempotency, state.now()).await? {
        Created::New(outcome) => Ok(created(&outcome)),
        Created::Replayed(stored) => {
            let status =
                StatusCode::from_u16(stored.response_status as u16).unwrap_or(StatusCode::CREATED);
            let mut response = (status, stored.response_body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
    }
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("").trim();
    if key.is_empty()
        || key.len() > IDEMPOTENCY_KEY_MAX
        || !key.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(ApiError::field(
            "Idempotency-Key",
            ErrorCode::InvalidField,
            format!(
                "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters, e.g. a UUID"
            ),
        ));
    }
    Ok(Some(key.to_owned()))
}

fn created(outcome: &TicketOutcome) -> Response {
    let mut response = (StatusCode::CREATED, axum::Json(outcome)).into_response();
    let headers = response.headers_mut();
    if let Ok(location) =
        HeaderValue::from_str(&format!("/api/v1/tickets/{}", outcome.view.ticket.id))
    {
        headers.insert(header::LOCATION, location);
    }
    insert_etag(headers, outcome.view.ticket.version);
    response
}

fn insert_etag(headers: &mut HeaderMap, version: i64) {
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        headers.insert(header::ETAG, tag);
    }
}

/// Delete a ticket with its notes, time and history (admins only). A problem that
/// incidents still point at is refused.
#[utoipa::path(
    delete, path = "/tickets/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    service::delete(&state.store, TicketId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Read one ticket. The `ETag` is its version, for `If-Match` on a later PATCH.
#[utoipa::path(
    get, path = "/tickets/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = TicketView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn get(State(state): State<AppState>, _caller: Caller, Id(id): Id) -> ApiResult<Response> {
    let ticket = service::get(&state.store, TicketId(id), state.now()).await?;
    let mut response = axum::Json(&ticket).into_response();
    insert_etag(response.headers_mut(), ticket.ticket.version);
    Ok(response)
}

/// Change a ticket. Only the fields sent change; `null` clears a field. A status
/// change is checked by the workflow. Send `If-Match: "<version>"` to refuse the
/// change (409) if someone else changed the ticket since you read it.
#[utoipa::path(
    patch, path = "/tickets/{id}", tag = "tickets",
    params(
        ("id" = i64, Path, description = "Ticket id"),
        ("If-Match" = Option<String>, Header, description = "The version you read, e.g. \"3\""),
    ),
    request_body = TicketPatch,
    responses(
        (status = 200, body = TicketOutcome),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    headers: HeaderMap,
    Json(patch): Json<TicketPatch>,
) -> ApiResult<Response> {
    caller.require_write()?;
    let expected = if_match(&headers)?;
    let outcome = service::update(
        &state.store,
        &caller.actor(),
        TicketId(id),
        patch,
        expected,
        state.now(),
    )
    .await?;
    let mut response = axum::Json(&outcome).into_response();
    insert_etag(response.headers_mut(), outcome.view.ticket.version);
    Ok(response)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicketListParams {
    /// Comma-separated status ids.
    pub status_id: Option<String>,
    pub priority_id: Option<String>,
    pub company_id: Option<String>,
    pub queue_id: Option<String>,
    pub assigned_resource_id: Option<String>,
    pub type_id: Option<String>,
    /// `true`: only open tickets; `false`: only resolved or closed ones.
    pub open: Option<bool>,
    pub created_after: Option<String>,
    pub created_before: Option<String>,
    pub updated_after: Option<String>,
    pub updated_before: Option<String>,
    /// Full-text search over title, description and notes: every word must appear.
    pub q: Option<String>,
    /// Only tickets whose resolution is due before this instant (running, unmet clocks).
    pub due_before: Option<String>,
    /// `true`: only tickets whose SLA is breached (same as `sla_state=breached`).
    pub breached: Option<bool>,
    /// `not_started`, `running` (includes at-risk and not-started), `at_risk`, `paused`, `met` or `breached`.
    pub sla_state: Option<String>,
    /// `created_at`, `updated_at`, `due_at`, `priority`, `id` or `relevance` (with `q`); prefix `-` for descending. Default `-created_at`, or `relevance` with `q`.
    pub sort: Option<String>,
    /// At most 500; 50 when omitted.
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page (with the same filters and sort).
    pub cursor: Option<String>,
    /// `false` leaves out `total`: counting every match costs as much again as the
    /// page on a large result (a queue view that shows no count has no need of it).
    pub total: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    pub items: Vec<TicketView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How many tickets match the filters, across all pages; absent when the request
    /// said `total=false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// List tickets, filtered and sorted, a page at a time.
#[utoipa::path(
    get, path = "/tickets", tag = "tickets",
    params(TicketListParams),
    responses((status = 200, body = TicketList), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    Query(p): Query<TicketListParams>,
) -> ApiResult<axum::Json<TicketList>> {
    let filter = TicketFilter {
        status_ids: id_list("status_id", p.status_id.as_deref(), StatusId)?,
        priority_ids: id_list("priority_id", p.priority_id.as_deref(), PriorityId)?,
        company_ids: id_list("company_id", p.company_id.as_deref(), CompanyId)?,
        queue_ids: id_list("queue_id", p.queue_id.as_deref(), QueueId)?,
        assigned_resource_ids: id_list(
            "assigned_resource_id",
            p.assigned_resource_id.as_deref(),
            ResourceId,
        )?,
        type_ids: id_list("type_id", p.type_id.as_deref(), TicketTypeId)?,
        open: p.open,
        created_after: instant("created_after", p.created_after.as_deref())?,
        created_before: instant("created_before", p.created_before.as_deref())?,
        updated_after: instant("updated_after", p.updated_after.as_deref())?,
        updated_before: instant("updated_before", p.updated_before.as_deref())?,
        text: p.q,
        resolution_due_before: instant("due_before", p.due_before.as_deref())?,
        sla_state: match (p.sla_state.as_deref(), p.breached) {
            (Some(text), _) => Some(
                SlaStateFilter::parse(text)
                    .map_err(|m| ApiError::field("sla_state", ErrorCode::InvalidField, m))?,
            ),
            (None, Some(true)) => Some(SlaStateFilter::Breached),
            (None, _) => None,
        },
    };
    page_of(
        &state,
        filter.to_query(),
        p.sort,
        p.limit,
        p.cursor,
        p.total,
    )
    .await
}

/// Search request: a filter tree, optional text, sort and paging.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketSearch {
    /// A node, or an array of nodes that must all hold. A group is
    /// `{"op": "and" | "or" | "not", "items": [...]}`; a leaf is
    /// `{"op": "eq", "field": "status_id", "value": 1}` with ops eq, noteq, gt, gte, lt,
    /// lte, between ([low, high], inclusive), in, notIn, contains, beginsWith, endsWith,
    /// exist, notExist, and `{"op": "text", "value": "words"}` for full-text search.
    /// Fields: the ticket's columns, `status_category`, `sla_state`, and custom fields
    /// as `custom.<name>` (or `"udf": true`). Field and op names are case-insensitive;
    /// text compares case-insensitively.
    #[schema(value_type = Object)]
    pub filter: Option<serde_json::Value>,
    /// Full-text search over title, description and notes: every word must appear.
    pub q: Option<String>,
    /// As for the list; also `relevance` (best match first, the default with text).
    pub sort: Option<String>,
    /// At most 500; 50 when omitted.
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page of the same search.
    pub cursor: Option<String>,
    /// `false` leaves out `total` (see the list).
    pub total: Option<bool>,
}

/// Search tickets with a filter tree: nested and / or / not over any ticket field,
/// custom fields and SLA state, with full-text search and relevance ranking.
#[utoipa::path(
    post, path = "/tickets/search", tag = "tickets",
    request_body = TicketSearch,
    responses(
        (status = 200, body = TicketList),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A node of the filter is invalid; `field` is its path, e.g. filter.items[2].op", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn search(
    State(state): State<AppState>,
    _caller: Caller,
    Json(search): Json<TicketSearch>,
) -> ApiResult<axum::Json<TicketList>> {
    let mut all = match &search.filter {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(filter) => vec![fixpoint_core::query::parse(filter, "filter")?],
    };
    if let Some(q) = search
        .q
        .filter(|q| !fixpoint_core::query::words_of(q).is_empty())
    {
        all.push(Node::Text(q));
    }
    page_of(
        &state,
        Node::And(all),
        search.sort,
        search.limit,
        search.cursor,
        search.total,
    )
    .await
}

/// One page of tickets for a filter, with the sort, limit and cursor a client sent.
async fn page_of(
    state: &AppState,
    filter: Node,
    sort: Option<String>,
    limit_param: Option<u64>,
    cursor: Option<String>,
    total: Option<bool>,
) -> ApiResult<axum::Json<TicketList>> {
    let has_text = !filter.text_queries().is_empty();
    let sort = match sort.as_deref() {
        None if has_text => Sort {
            key: SortKey::Relevance,
            descending: false,
        },
        None => Sort::default(),
        Some(text) => {
            Sort::parse(text).map_err(|m| ApiError::field("sort", ErrorCode::InvalidField, m))?
        }
    };
    if sort.key == SortKey::Relevance && !has_text {
        return Err(ApiError::field(
            "sort",
            ErrorCode::InvalidField,
            "sort by relevance needs a text search (q, or a text op in the filter)",
        ));
    }
    let after = match cursor.as_deref() {
        None => None,
        Some(c) => Some(Cursor::decode(c).filter(|c| c.fits(sort)).ok_or_else(|| {
            ApiError::field(
                "cursor",
                ErrorCode::InvalidField,
                "cursor is not one this server handed out for this sort; pass next_cursor back unchanged",
            )
        })?),
    };
    let limit = limit(limit_param)?;
    let page = service::list(
        &state.store,
        &filter,
        sort,
        limit,
        after,
        state.now(),
        if total == Some(false) {
            service::Total::Skip
        } else {
            service::Total::Count
        },
    )
    .await?;
    Ok(axum::Json(TicketList {
        items: page.items,
        next_cursor: page.next_cursor.map(Cursor::encode),
        total: page.total,
    }))
}

/// Add a note: internal (technicians only) or external (visible to the client).
#[utoipa::path(
    post, path = "/tickets/{id}/notes", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    request_body = NewNote,
    responses((status = 201, body = Note), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn add_note(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(new): Json<NewNote>,
) -> ApiResult<(StatusCode, axum::Json<Note>)> {
    caller.require_write()?;
    let note = service::add_note(
        &state.store,
        &caller.actor(),
        TicketId(id),
        new,
        state.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(note)))
}

#[utoipa::path(
    get, path = "/tickets/{id}/notes", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = Vec<Note>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn notes(
    State(state): State<AppState>,
    _caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Vec<Note>>> {
    Ok(axum::Json(
        service::notes(&state.store, TicketId(id)).await?,
    ))
}

/// Edit a note's title, body, visibility or kind.
#[utoipa::path(
    patch, path = "/notes/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "Note id")),
    request_body = NotePatch,
    responses((status = 200, body = Note), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn update_note(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<NotePatch>,
) -> ApiResult<axum::Json<Note>> {
    caller.require_write()?;
    let note = service::update_note(
        &state.store,
        &caller.actor(),
        NoteId(id),
        patch,
        state.now(),
    )
    .await?;
    Ok(axum::Json(note))
}

/// Delete a note; the ticket's history records it.
#[utoipa::path(
    delete, path = "/notes/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "Note id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn delete_note(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    caller.require_write()?;
    service::delete_note(&state.store, &caller.actor(), NoteId(id), state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Correct a time entry. A new range without `minutes` recounts the minutes.
#[utoipa::path(
    patch, path = "/time-entries/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "Time entry id")),
    request_body = TimeEntryPatch,
    responses((status = 200, body = TimeEntry), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn update_time_entry(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<TimeEntryPatch>,
) -> ApiResult<axum::Json<TimeEntry>> {
    caller.require_write()?;
    let entry = service::update_time_entry(
        &state.store,
        &caller.actor(),
        TimeEntryId(id),
        patch,
        state.now(),
    )
    .await?;
    Ok(axum::Json(entry))
}

/// Delete a time entry; the ticket's history records it.
#[utoipa::path(
    delete, path = "/time-entries/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "Time entry id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn delete_time_entry(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    caller.require_write()?;
    service::delete_time_entry(&state.store, &caller.actor(), TimeEntryId(id), state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log time: `started_at` + `ended_at`, or `minutes`. Billable unless `billable: false`.
#[utoipa::path(
    post, path = "/tickets/{id}/time-entries", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    request_body = NewTimeEntry,
    responses((status = 201, body = TimeEntry), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn log_time(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(new): Json<NewTimeEntry>,
) -> ApiResult<(StatusCode, axum::Json<TimeEntry>)> {
    caller.require_write()?;
    let entry = service::log_time(
        &state.store,
        &caller.actor(),
        TicketId(id),
        new,
        state.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(entry)))
}

#[utoipa::path(
    get, path = "/tickets/{id}/time-entries", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = Vec<TimeEntry>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn time_entries(
    State(state): State<AppState>,
    _caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Vec<TimeEntry>>> {
    Ok(axum::Json(
        service::time_entries(&state.store, TicketId(id)).await?,
    ))
}

/// Billable and non-billable time on a ticket, in minutes and hours.
#[utoipa::path(
    get, path = "/tickets/{id}/billable", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = BillableSummary), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn billable(
    State(state): State<AppState>,
    _caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<BillableSummary>> {
    Ok(axum::Json(
        service::billable(&state.store, TicketId(id)).await?,
    ))
}

/// Every change to the ticket: who, when, which field, old and new value.
#[utoipa::path(
    get, path = "/tickets/{id}/history", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn history(
    State(state): State<AppState>,
    _caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Vec<HistoryEntry>>> {
    Ok(axum::Json(
        service::history(&state.store, TicketId(id)).await?,
    ))
}
