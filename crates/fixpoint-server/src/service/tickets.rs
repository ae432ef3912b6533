//! Ticket use cases: open, change, read, list; notes and time on a ticket.

use fixpoint_core::catalog::Catalog;
use fixpoint_core::filter::TicketFilter;
use fixpoint_core::ids::TicketId;
use fixpoint_core::rules::{self, Refs};
use fixpoint_core::ticket::{self, FieldChange, HistoryEntry, NewTicket, Ticket, TicketPatch};
use fixpoint_core::time_entry::{BillableSummary, NewNote, NewTimeEntry, Note, TimeEntry};
use fixpoint_core::{DomainError, ErrorCode, Warning};
use fixpoint_store::auth::{self as keys, StoredResponse};
use fixpoint_store::parties::{self, now};
use fixpoint_store::tickets::{self as store_tickets, Cursor, ListQuery, TicketPage, Updated};
use fixpoint_store::{Conn, Store, catalog, work};
use serde::Serialize;
use utoipa::ToSchema;

use super::ServiceResult;

/// A ticket as a write left it, with the workflow's warnings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketOutcome {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub warnings: Vec<Warning>,
}

/// An idempotency key on a create: the first response is stored with the ticket.
pub struct Idempotency<'a> {
    pub api_key_id: i64,
    pub key: &'a str,
    pub request_digest: String,
    /// Turns the outcome into the stored response (status and body as sent).
    pub respond: &'a (dyn Fn(&TicketOutcome) -> StoredResponse + Send + Sync),
}

pub enum Created {
    New(Box<TicketOutcome>),
    /// The same key was seen before with the same body: the first response.
    Replayed(StoredResponse),
}

pub async fn create(
    store: &Store,
    actor: &str,
    new: NewTicket,
    idempotency: Option<Idempotency<'_>>,
) -> ServiceResult<Created> {
    let mut tx = store.write().await?;
    if let Some(idem) = &idempotency
        && let Some(stored) = keys::idempotent_response(&mut tx, idem.api_key_id, idem.key).await?
    {
        if stored.request_digest != idem.request_digest {
            return Err(DomainError::Conflict {
                code: ErrorCode::IdempotencyKeyReused,
                message: format!(
                    "Idempotency-Key '{}' was already used for a different request body; use a new key for a new ticket",
                    idem.key
                ),
            }
            .into());
        }
        return Ok(Created::Replayed(stored));
    }
    let catalog = catalog::load(&mut tx).await?;
    let at = now();
    let mut candidate = new.into_ticket(&catalog, at);
    if let Some(status) = catalog.status(candidate.status_id) {
        ticket::apply_status_effects(&mut candidate, None, status, at);
    }
    let refs = load_refs(&mut tx, &candidate, false).await?;
    let warnings = rules::check_ticket(&catalog, None, &candidate, &refs)?;
    let ticket = store_tickets::insert(&mut tx, candidate, actor).await?;
    let outcome = TicketOutcome { ticket, warnings };
    if let Some(idem) = idempotency {
        keys::remember_response(
            &mut tx,
            idem.api_key_id,
            idem.key,
            &(idem.respond)(&outcome),
            at,
        )
        .await?;
    }
    Store::commit(tx).await?;
    Ok(Created::New(Box::new(outcome)))
}

/// Applies a patch. `expected_version` (from `If-Match`) must match the stored one.
/// A patch that changes nothing leaves the ticket and its version alone.
pub async fn update(
    store: &Store,
    actor: &str,
    id: TicketId,
    patch: TicketPatch,
    expected_version: Option<i64>,
) -> ServiceResult<TicketOutcome> {
    let mut tx = store.write().await?;
    let before = store_tickets::get(&mut tx, id)
        .await?
        .ok_or_else(|| DomainError::not_found("ticket", id))?;
    if let Some(expected) = expected_version
        && expected != before.version
    {
        return Err(stale(id, expected, before.version).into());
    }
    let catalog = catalog::load(&mut tx).await?;
    let at = now();
    let mut after = patch.apply_to(&before);
    if let (Some(from), Some(to)) = (
        catalog.status(before.status_id),
        catalog.status(after.status_id),
    ) {
        ticket::apply_status_effects(&mut after, Some(from), to, at);
    }
    let refs = load_refs(&mut tx, &after, true).await?;
    let warnings = rules::check_ticket(&catalog, Some(&before), &after, &refs)?;
    let changes = ticket::diff(Some(&before), &after);
    if changes.is_empty() {
        return Ok(TicketOutcome {
            ticket: before,
            warnings,
        });
    }
    after.version = before.version + 1;
    after.updated_at = at;
    after.last_activity_at = at;
    if store_tickets::update(&mut tx, &before, &after, &changes, actor).await?
        == Updated::VersionConflict
    {
        return Err(stale(id, before.version, before.version + 1).into());
    }
    Store::commit(tx).await?;
    Ok(TicketOutcome {
        ticket: after,
        warnings,
    })
}

fn stale(id: TicketId, sent: i64, current: i64) -> DomainError {
    DomainError::Conflict {
        code: ErrorCode::VersionConflict,
        message: format!(
            "ticket {id} is at version {current}, not {sent}: someone changed it since you read it; fetch it again and reapply your change"
        ),
    }
}

/// Everything the rules look at, read in the caller's transaction.
async fn load_refs(conn: &mut Conn, t: &Ticket, existing: bool) -> ServiceResult<Refs> {
    let company = parties::company(conn, t.company_id).await?;
    let mut refs = Refs {
        company,
        ..Refs::default()
    };
    if let Some(id) = t.location_id {
        refs.location = parties::location(conn, id).await?;
    }
    if let Some(id) = t.contact_id {
        refs.contact = parties::contact(conn, id).await?;
    }
    if let Some(id) = t.queue_id {
        refs.queue = parties::queue(conn, id).await?;
    }
    if let Some(id) = t.contract_id {
        refs.contract = parties::contract(conn, id).await?;
    }
    if let Some(id) = t.assigned_resource_id {
        refs.assigned_resource = parties::resource(conn, id).await?;
    }
    if let Some(id) = t.assigned_role_id {
        refs.assigned_role = parties::role(conn, id).await?;
    }
    refs.secondary_resources = parties::resources_by_id(conn, &t.secondary_resource_ids).await?;
    if let Some(id) = t.issue_type_id {
        refs.issue_type = catalog::issue_type(conn, id).await?;
    }
    if let Some(id) = t.sub_issue_type_id {
        refs.sub_issue_type = catalog::issue_type(conn, id).await?;
    }
    if let Some(id) = t.problem_ticket_id {
        refs.problem_ticket = store_tickets::linked(conn, id).await?;
    }
    if existing {
        refs.incident_count = store_tickets::incident_count(conn, t.id).await?;
    }
    Ok(refs)
}

pub async fn get(store: &Store, id: TicketId) -> ServiceResult<Ticket> {
    let mut conn = store.read().await?;
    Ok(store_tickets::get(&mut conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("ticket", id))?)
}

pub async fn list(store: &Store, query: &ListQuery<'_>) -> ServiceResult<TicketPage> {
    let mut conn = store.read().await?;
    Ok(store_tickets::list(&mut conn, query).await?)
}

/// Re-exported for the API's cursor parsing.
pub fn decode_cursor(text: &str) -> Option<Cursor> {
    Cursor::decode(text)
}

pub fn open_filter() -> TicketFilter {
    TicketFilter {
        open: Some(true),
        ..TicketFilter::default()
    }
}

async fn existing(conn: &mut Conn, id: TicketId) -> ServiceResult<Ticket> {
    Ok(store_tickets::get(conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("ticket", id))?)
}

pub async fn add_note(
    store: &Store,
    actor: &str,
    id: TicketId,
    new: NewNote,
) -> ServiceResult<Note> {
    new.check()?;
    let mut tx = store.write().await?;
    let ticket = existing(&mut tx, id).await?;
    let at = now();
    let mut note = Note {
        id: Default::default(),
        ticket_id: id,
        title: new.title,
        body: new.body,
        visibility: new.visibility,
        kind: new.kind,
        author: actor.to_owned(),
        created_at: at,
    };
    note.id = work::insert_note(&mut tx, &note).await?;
    store_tickets::touch(&mut tx, id, at).await?;
    let change = FieldChange {
        field: "note_added".into(),
        old: None,
        new: Some(note.id.to_string()),
    };
    store_tickets::write_history(&mut tx, id, ticket.version, at, actor, &[change]).await?;
    Store::commit(tx).await?;
    Ok(note)
}

pub async fn notes(store: &Store, id: TicketId) -> ServiceResult<Vec<Note>> {
    let mut conn = store.read().await?;
    existing(&mut conn, id).await?;
    Ok(work::notes(&mut conn, id).await?)
}

pub async fn log_time(
    store: &Store,
    actor: &str,
    id: TicketId,
    new: NewTimeEntry,
) -> ServiceResult<TimeEntry> {
    let minutes = new.check()?;
    let mut tx = store.write().await?;
    let ticket = existing(&mut tx, id).await?;
    match parties::resource(&mut tx, new.resource_id).await? {
        None => {
            return Err(DomainError::invalid(
                "resource_id",
                ErrorCode::UnknownReference,
                format!("resource {} does not exist", new.resource_id),
            )
            .into());
        }
        Some(r) if !r.active => {
            return Err(DomainError::invalid(
                "resource_id",
                ErrorCode::InactiveValue,
                format!("resource {} is inactive and cannot log time", r.id),
            )
            .into());
        }
        Some(_) => {}
    }
    let at = now();
    let mut entry = TimeEntry {
        id: Default::default(),
        ticket_id: id,
        resource_id: new.resource_id,
        started_at: new.started_at,
        ended_at: new.ended_at,
        minutes,
        billable: new.billable,
        notes: new.notes,
        created_at: at,
    };
    entry.id = work::insert_time_entry(&mut tx, &entry).await?;
    store_tickets::touch(&mut tx, id, at).await?;
    let change = FieldChange {
        field: "time_logged".into(),
        old: None,
        new: Some(format!(
            "{} min{}",
            minutes,
            if entry.billable { " billable" } else { "" }
        )),
    };
    store_tickets::write_history(&mut tx, id, ticket.version, at, actor, &[change]).await?;
    Store::commit(tx).await?;
    Ok(entry)
}

pub async fn time_entries(store: &Store, id: TicketId) -> ServiceResult<Vec<TimeEntry>> {
    let mut conn = store.read().await?;
    existing(&mut conn, id).await?;
    Ok(work::time_entries(&mut conn, id).await?)
}

pub async fn billable(store: &Store, id: TicketId) -> ServiceResult<BillableSummary> {
    Ok(BillableSummary::of(&time_entries(store, id).await?))
}

pub async fn history(store: &Store, id: TicketId) -> ServiceResult<Vec<HistoryEntry>> {
    let mut conn = store.read().await?;
    existing(&mut conn, id).await?;
    Ok(store_tickets::history(&mut conn, id).await?)
}

pub async fn load_catalog(store: &Store) -> ServiceResult<Catalog> {
    let mut conn = store.read().await?;
    Ok(catalog::load(&mut conn).await?)
}
