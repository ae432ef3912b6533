//! Ticket use cases: open, change, read, list; notes and time on a ticket.

use std::sync::Arc;

use fixpoint_core::catalog::{Catalog, SlaClock};
use fixpoint_core::filter::Sort;
use fixpoint_core::ids::{CompanyId, NoteId, SlaPolicyId, StatusId, TicketId, TimeEntryId};
use fixpoint_core::query::Node;
use fixpoint_core::rules::{self, Refs};
use fixpoint_core::sla::{self, SlaContext, SlaPolicy, SlaView};
use fixpoint_core::ticket::{self, FieldChange, HistoryEntry, NewTicket, Ticket, TicketPatch};
use fixpoint_core::time_entry::{
    BillableSummary, NewNote, NewTimeEntry, Note, NotePatch, SlaSplit, TimeEntry, TimeEntryPatch,
};
use fixpoint_core::{DomainError, ErrorCode, Warning};
use fixpoint_store::auth::{self as keys, StoredResponse};
use fixpoint_store::parties;
use fixpoint_store::reference::Reference;
use fixpoint_store::tickets::{self as store_tickets, Cursor, ListQuery, Updated};
use fixpoint_store::{Conn, Store, Writes, catalog, work};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ServiceError, ServiceResult};

/// A ticket with its SLA clocks as of now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketView {
    #[serde(flatten)]
    pub ticket: Ticket,
    /// The SLA clocks; absent when no policy applies.
    pub sla: Option<SlaView>,
}

/// A ticket as a write left it, with the workflow's warnings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketOutcome {
    #[serde(flatten)]
    pub view: TicketView,
    pub warnings: Vec<Warning>,
}

/// The catalogue, SLA policies and calendars as one request sees them (from the
/// store's memory unless an admin changed them).
pub struct SlaSetup(Arc<Reference>);

impl SlaSetup {
    pub async fn load(store: &Store, conn: &mut Conn) -> ServiceResult<Self> {
        Ok(Self(store.reference(conn).await?))
    }

    pub fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    pub fn policies(&self) -> &[SlaPolicy] {
        &self.0.policies
    }

    pub fn context(&self, policy: Option<SlaPolicyId>) -> Option<SlaContext<'_>> {
        let policy = self.0.policies.iter().find(|p| Some(p.id) == policy)?;
        let calendar = &self
            .0
            .calendars
            .iter()
            .find(|c| c.id == policy.calendar_id)?
            .calendar;
        Some(SlaContext { policy, calendar })
    }

    /// Where "today at 17:00" is, for category due times: the default policy's
    /// calendar zone (the desk's home), else UTC.
    pub fn home_zone(&self) -> jiff::tz::TimeZone {
        self.context(self.default_policy())
            .map_or(jiff::tz::TimeZone::UTC, |c| c.calendar.time_zone().clone())
    }

    pub fn default_policy(&self) -> Option<SlaPolicyId> {
        self.0.policies.iter().find(|p| p.is_default).map(|p| p.id)
    }

    pub fn view(&self, ticket: Ticket, now: Timestamp) -> TicketView {
        let sla = self
            .context(ticket.sla_policy_id)
            .map(|ctx| sla::view(ctx, &ticket, now));
        TicketView { ticket, sla }
    }
}

fn clock_of(catalog: &Catalog, status: StatusId) -> SlaClock {
    catalog
        .status(status)
        .map_or(SlaClock::Running, |s| s.sla_clock)
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

/// Opens a ticket. Creates without an idempotency key are written together with the
/// others arriving at the same moment (see [`CreateQueue`]).
pub async fn create(
    store: &Store,
    actor: &str,
    new: NewTicket,
    idempotency: Option<Idempotency<'_>>,
    at: Timestamp,
) -> ServiceResult<Created> {
    if idempotency.is_some() {
        return create_with(store, actor, new, None, idempotency, at).await;
    }
    let opening = Opening {
        actor: actor.to_owned(),
        new,
        at,
    };
    let outcome = CreateQueue::write(store, opening).await?;
    Ok(Created::New(Box::new(outcome)))
}

/// A ticket to open: what was asked, by whom, when.
#[derive(Clone)]
pub(crate) struct Opening {
    pub actor: String,
    pub new: NewTicket,
    pub at: Timestamp,
}

/// Creates waiting to be written, one writer per store at a time.
///
/// A create is a dozen statements, nearly all of them the same for every ticket
/// (reference data, the number sequence, one insert each into tickets, history, the
/// search index and the outbox), and each statement costs a round trip to the
/// database (a thread hand-off for SQLite, a socket for PostgreSQL). So a writer
/// takes every create that queued while the previous batch was written and writes
/// them with the same dozen statements in one transaction: the rules still judge each
/// ticket alone, and one refused ticket only fails itself. If a statement fails for
/// the batch, each create is tried again alone, so the error lands on the create
/// that caused it.
///
/// Under load the callers of one batch are all answered at once and come back
/// together, a moment after the writer has started on the few that arrived in
/// between; so after a large batch the writer waits up to [`LINGER`] for as many
/// creates to queue again (PostgreSQL's `commit_delay` does the same for commits). A
/// lone create never waits.
#[derive(Default)]
pub struct CreateQueue {
    waiting: std::sync::Mutex<Waiting>,
    arrived: tokio::sync::Notify,
}

#[derive(Default)]
struct Waiting {
    jobs: Vec<(Opening, Answer)>,
    writing: bool,
}

type Answer = tokio::sync::oneshot::Sender<ServiceResult<TicketOutcome>>;

/// Bounds a batch so that its statements stay small and its first create does not wait
/// on an ever longer list. 128 rather than 64 since PostgreSQL's creates are bound by
/// the writer's serial work (credentials remembered): each batch's fixed statements and
/// commit are shared by more creates. Side by side at 1M, 256 clients, three rounds:
/// PostgreSQL 6,103 / 5,391 / 6,529 → 6,638 / 7,416 / 6,973 creates/s, p99 no worse;
/// SQLite 8,962 / 7,253 → 9,133 / 8,852 (BENCHMARKS, "credentials remembered").
const CREATES_PER_BATCH_MAX: usize = 128;

/// How long a writer waits for the callers of its last batch to come back.
const LINGER: std::time::Duration = std::time::Duration::from_millis(1);

/// A batch at least this large means the desk is busy enough to linger after it.
const LINGER_AFTER: usize = 4;

impl CreateQueue {
    async fn write(store: &Store, opening: Opening) -> ServiceResult<TicketOutcome> {
        let queue = store.shared::<CreateQueue>();
        let (answer, answered) = tokio::sync::oneshot::channel();
        if queue.push(opening, answer) {
            let writer = {
                let store = store.clone();
                async move { queue.write_all(&store).await }
            };
            match own_thread() {
                Some(thread) => drop(thread.spawn(writer)),
                None => drop(tokio::spawn(writer)),
            }
        }
        answered.await.unwrap_or_else(|_| {
            Err(fixpoint_store::StoreError::Commit(
                "the ticket was not written: its writer stopped".into(),
            )
            .into())
        })
    }

    /// Queues a create; true when nobody is writing and the caller must start a writer.
    fn push(&self, opening: Opening, answer: Answer) -> bool {
        let mut waiting = self.lock();
        waiting.jobs.push((opening, answer));
        let start = !std::mem::replace(&mut waiting.writing, true);
        drop(waiting);
        self.arrived.notify_one();
        start
    }

    fn queued(&self) -> usize {
        self.lock().jobs.len()
    }

    /// After a batch of `last`: waits up to [`LINGER`] for as many creates as it held
    /// (its callers coming back), and no longer: the writer idles only while the
    /// batch it expects is still arriving.
    async fn linger(&self, last: usize) {
        if last < LINGER_AFTER {
            return;
        }
        let refilled = async {
            loop {
                let arrived = self.arrived.notified();
                if self.queued() >= last {
                    return;
                }
                arrived.await;
            }
        };
        let _ = tokio::time::timeout(LINGER, refilled).await;
    }

    /// The next batch; an empty one ends the writer's turn.
    fn next_batch(&self) -> Vec<(Opening, Answer)> {
        let mut waiting = self.lock();
        let take = waiting.jobs.len().min(CREATES_PER_BATCH_MAX);
        let batch: Vec<_> = waiting.jobs.drain(..take).collect();
        if batch.is_empty() {
            waiting.writing = false;
        }
        batch
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn write_all(&self, store: &Store) {
        let _turn = WriterTurn(self);
        loop {
            let batch = self.next_batch();
            if batch.is_empty() {
                return;
            }
            let size = batch.len();
            write_batch(store, batch).await;
            self.linger(size).await;
        }
    }
}

/// Where the create writer runs: a thread of its own, so that each reply from the
/// database reaches it at once instead of queueing behind the HTTP work on the server's
/// workers (it is the one serial step every create waits on; side by side at 1M
/// tickets, 16 clients: +3-25% creates on SQLite in six rounds). PostgreSQL's writer
/// opens its connection there ([`Store::write_for_batches`]), so that the thread's own
/// runtime reads its socket too. The writer stays on the server's runtime if the
/// thread cannot be started.
fn own_thread() -> Option<&'static tokio::runtime::Handle> {
    static THREAD: std::sync::OnceLock<Option<tokio::runtime::Handle>> = std::sync::OnceLock::new();
    THREAD
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name("create-writer".into())
                .spawn(move || runtime.block_on(std::future::pending::<()>()))
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Ends a writer that panicked: the creates it left are answered with an error (their
/// senders drop) and the next create starts a new writer.
struct WriterTurn<'a>(&'a CreateQueue);

impl Drop for WriterTurn<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut waiting = self.0.lock();
            waiting.jobs.clear();
            waiting.writing = false;
        }
    }
}

async fn write_batch(store: &Store, batch: Vec<(Opening, Answer)>) {
    let (openings, answers): (Vec<Opening>, Vec<Answer>) = batch.into_iter().unzip();
    let started = std::time::Instant::now();
    let written = async {
        let mut tx = store.write_for_batches().await?;
        let outcomes = create_many_in(store, &mut tx, &openings).await?;
        ServiceResult::Ok((tx, outcomes))
    }
    .await;
    match written {
        Ok((tx, outcomes)) => {
            let committed = Store::commit(tx).await.map_err(|e| e.to_string());
            tracing::debug!(
                creates = openings.len(),
                micros = started.elapsed().as_micros() as u64,
                "creates written together"
            );
            for (answer, outcome) in answers.into_iter().zip(outcomes) {
                let outcome = match (&committed, outcome) {
                    (Err(message), Ok(_)) => {
                        Err(fixpoint_store::StoreError::Commit(message.clone()).into())
                    }
                    (_, outcome) => outcome,
                };
                // A create whose caller went away is written all the same.
                let _ = answer.send(outcome);
            }
        }
        Err(e) if openings.len() == 1 => {
            if let Some(answer) = answers.into_iter().next() {
                let _ = answer.send(Err(e));
            }
        }
        Err(_) => {
            for (opening, answer) in openings.into_iter().zip(answers) {
                let _ = answer.send(create_alone(store, opening).await);
            }
        }
    }
}

async fn create_alone(store: &Store, opening: Opening) -> ServiceResult<TicketOutcome> {
    let mut tx = store.write().await?;
    let outcome = create_in(store, &mut tx, &opening.actor, opening.new, opening.at).await?;
    Store::commit(tx).await?;
    Ok(outcome)
}

/// Opens a ticket for a contact created with it, in one transaction: both are
/// written or neither (Atera creates the end user from the ticket's fields).
pub async fn create_with_contact(
    store: &Store,
    actor: &str,
    contact: fixpoint_core::parties::NewContact,
    new: NewTicket,
    at: Timestamp,
) -> ServiceResult<Created> {
    create_with(store, actor, new, Some(contact), None, at).await
}

async fn create_with(
    store: &Store,
    actor: &str,
    mut new: NewTicket,
    contact: Option<fixpoint_core::parties::NewContact>,
    idempotency: Option<Idempotency<'_>>,
    at: Timestamp,
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
    if let Some(contact) = contact {
        new.contact_id = Some(super::parties::add_contact(&mut tx, contact).await?.id);
    }
    let outcome = create_in(store, &mut tx, actor, new, at).await?;
    if let Some(idem) = &idempotency {
        let stored = (idem.respond)(&outcome);
        match keys::remember_response(&mut tx, idem.api_key_id, idem.key, &stored, at).await {
            Ok(()) => {}
            // A concurrent retry with the same key won the race (PostgreSQL; SQLite
            // serialises writers): this create is rolled back and the winner answers.
            Err(e) if e.is_unique_violation() => {
                drop(tx);
                return replay(store, idem).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Store::commit(tx).await?;
    Ok(Created::New(Box::new(outcome)))
}

/// Opens a ticket inside a caller's transaction, with its `ticket.created` event.
pub(crate) async fn create_in(
    store: &Store,
    tx: &mut Conn,
    actor: &str,
    new: NewTicket,
    at: Timestamp,
) -> ServiceResult<TicketOutcome> {
    let opening = Opening {
        actor: actor.to_owned(),
        new,
        at,
    };
    create_many_in(store, tx, std::slice::from_ref(&opening))
        .await?
        .pop()
        .unwrap_or_else(|| Err(unanswered()))
}

/// Opens tickets inside a caller's transaction, with their `ticket.created` events:
/// each judged alone by the rules, all written together. The outer error is the
/// store's (nothing written); each inner one refuses its ticket only.
pub(crate) async fn create_many_in(
    store: &Store,
    tx: &mut Conn,
    openings: &[Opening],
) -> ServiceResult<Vec<ServiceResult<TicketOutcome>>> {
    let setup = SlaSetup::load(store, tx).await?;
    let catalog = setup.catalog();
    let home_zone = setup.home_zone();
    let candidates: Vec<Ticket> = openings
        .iter()
        .map(|o| {
            let mut candidate = o
                .new
                .clone()
                .with_category_defaults(catalog, o.at, &home_zone)
                .into_ticket(catalog, o.at);
            if let Some(status) = catalog.status(candidate.status_id) {
                ticket::apply_status_effects(&mut candidate, None, status, o.at);
            }
            candidate
        })
        .collect();
    let refs = load_refs_many(tx, &candidates).await?;
    let mut judged = Vec::with_capacity(openings.len());
    let mut accepted = Vec::with_capacity(openings.len());
    for ((mut candidate, refs), opening) in candidates.into_iter().zip(refs).zip(openings) {
        let warnings = rules::check_ticket(catalog, None, &candidate, &refs)
            .map_err(ServiceError::from)
            .and_then(|w| check_policy(&setup, candidate.sla_policy_id).map(|()| w));
        if warnings.is_ok() {
            candidate.sla_policy_id = inherited_policy(&setup, &candidate, &refs);
            let clock = clock_of(catalog, candidate.status_id);
            sla::advance(
                setup.context(candidate.sla_policy_id),
                None,
                None,
                &mut candidate,
                clock,
                opening.at,
            );
            accepted.push((candidate, opening.actor.as_str()));
        }
        judged.push(warnings);
    }
    // The rows first, for their ids; the rest (search documents, history, events) in
    // one go after.
    let mut later = Writes::default();
    let written = store_tickets::insert_then(tx, accepted, &mut later).await?;
    let mut written = written.into_iter();
    let outcomes: Vec<ServiceResult<TicketOutcome>> = judged
        .into_iter()
        .zip(openings)
        .map(|(warnings, opening)| {
            let warnings = warnings?;
            let ticket = written.next().ok_or_else(unanswered)?;
            Ok(TicketOutcome {
                view: setup.view(ticket, opening.at),
                warnings,
            })
        })
        .collect();
    let opened: Vec<(&Ticket, &str, Timestamp)> = outcomes
        .iter()
        .zip(openings)
        .filter_map(|(outcome, o)| {
            let outcome = outcome.as_ref().ok()?;
            Some((&outcome.view.ticket, o.actor.as_str(), o.at))
        })
        .collect();
    super::outbox::tickets_created(&mut later, &opened);
    later.run(tx).await?;
    Ok(outcomes)
}

/// Every create in a batch gets an answer; this one says a write lost track of one.
fn unanswered() -> ServiceError {
    fixpoint_store::StoreError::Corrupt("a ticket of the batch was not written".into()).into()
}

async fn replay(store: &Store, idem: &Idempotency<'_>) -> ServiceResult<Created> {
    let mut conn = store.read().await?;
    match keys::idempotent_response(&mut conn, idem.api_key_id, idem.key).await? {
        Some(stored) if stored.request_digest == idem.request_digest => {
            Ok(Created::Replayed(stored))
        }
        _ => Err(DomainError::Conflict {
            code: ErrorCode::IdempotencyKeyReused,
            message: format!(
                "Idempotency-Key '{}' was used concurrently for a different request body",
                idem.key
            ),
        }
        .into()),
    }
}

/// Applies a patch. `expected_version` (from `If-Match`) must match the stored one.
/// A patch that changes nothing leaves the ticket and its version alone.
pub async fn update(
    store: &Store,
    actor: &str,
    id: TicketId,
    patch: TicketPatch,
    expected_version: Option<i64>,
    at: Timestamp,
) -> ServiceResult<TicketOutcome> {
    let mut tx = store.write().await?;
    let before = existing_to_change(&mut tx, id).await?;
    if let Some(expected) = expected_version
        && expected != before.version
    {
        return Err(stale(id, expected, before.version).into());
    }
    let setup = SlaSetup::load(store, &mut tx).await?;
    let catalog = setup.catalog();
    let policy_cleared = patch.sla_policy_id == Some(None);
    let mut after = patch.apply_to(&before);
    if let (Some(from), Some(to)) = (
        catalog.status(before.status_id),
        catalog.status(after.status_id),
    ) {
        ticket::apply_status_effects(&mut after, Some(from), to, at);
    }
    rules::check_resolution_plan(&before, &after, at)?;
    let refs = load_refs(&mut tx, &after).await?;
    let warnings = rules::check_ticket(catalog, Some(&before), &after, &refs)?;
    if policy_cleared {
        after.sla_policy_id = inherited_policy(&setup, &after, &refs);
    } else if after.sla_policy_id != before.sla_policy_id {
        check_policy(&setup, after.sla_policy_id)?;
    }
    let changes = ticket::diff(Some(&before), &after);
    if changes.is_empty() {
        return Ok(TicketOutcome {
            view: setup.view(before, at),
            warnings,
        });
    }
    let (from, to) = (
        clock_of(catalog, before.status_id),
        clock_of(catalog, after.status_id),
    );
    sla::advance(
        setup.context(after.sla_policy_id),
        Some(&before),
        Some(from),
        &mut after,
        to,
        at,
    );
    let written = write_change(&mut tx, &before, after, &changes, actor, at).await?;
    Store::commit(tx).await?;
    Ok(TicketOutcome {
        view: setup.view(written, at),
        warnings,
    })
}

/// Writes a changed ticket as the next version, or refuses if someone got there first.
async fn write_change(
    conn: &mut Conn,
    before: &Ticket,
    mut after: Ticket,
    changes: &[FieldChange],
    actor: &str,
    at: Timestamp,
) -> ServiceResult<Ticket> {
    after.version = before.version + 1;
    after.updated_at = at;
    after.last_activity_at = at;
    let mut later = Writes::default();
    if store_tickets::update_then(conn, before, &after, changes, actor, &mut later).await?
        == Updated::VersionConflict
    {
        return Err(stale(before.id, before.version, before.version + 1).into());
    }
    super::outbox::ticket_updated(&mut later, &after, changes, actor, at);
    later.run(conn).await?;
    Ok(after)
}

fn check_policy(setup: &SlaSetup, policy: Option<SlaPolicyId>) -> ServiceResult<()> {
    match policy {
        Some(id) if !setup.policies().iter().any(|p| p.id == id) => Err(DomainError::invalid(
            "sla_policy_id",
            ErrorCode::UnknownReference,
            format!("SLA policy {id} does not exist"),
        )
        .into()),
        _ => Ok(()),
    }
}

/// The ticket's own policy, else its contract's, its queue's, its category's, else the default.
fn inherited_policy(setup: &SlaSetup, t: &Ticket, refs: &Refs) -> Option<SlaPolicyId> {
    let known = |id: &SlaPolicyId| setup.policies().iter().any(|p| p.id == *id);
    let named = |policy: Option<i64>| policy.map(SlaPolicyId).filter(known);
    let contract = named(refs.contract.as_ref().and_then(|c| c.sla_policy_id));
    let queue = named(refs.queue.as_ref().and_then(|q| q.sla_policy_id));
    let category = t
        .ticket_category_id
        .and_then(|id| setup.catalog().category(id))
        .and_then(|c| c.sla_policy_id)
        .filter(known);
    sla::choose_policy(
        t.sla_policy_id,
        contract,
        queue,
        category,
        setup.default_policy(),
    )
}

fn stale(id: TicketId, sent: i64, current: i64) -> DomainError {
    DomainError::Conflict {
        code: ErrorCode::VersionConflict,
        message: format!(
            "ticket {id} is at version {current}, not {sent}: someone changed it since you read it; fetch it again and reapply your change"
        ),
    }
}

/// Everything the rules look at for a changed ticket, read in the caller's transaction.
async fn load_refs(conn: &mut Conn, t: &Ticket) -> ServiceResult<Refs> {
    let mut refs = load_refs_many(conn, std::slice::from_ref(t))
        .await?
        .pop()
        .unwrap_or_default();
    refs.incident_count = store_tickets::incident_count(conn, t.id).await?;
    Ok(refs)
}

/// What the rules look at for each of these tickets, one query per kind of record.
async fn load_refs_many(conn: &mut Conn, tickets: &[Ticket]) -> ServiceResult<Vec<Refs>> {
    fn found<T: Clone, I: PartialEq>(
        rows: &[T],
        id: Option<I>,
        id_of: impl Fn(&T) -> I,
    ) -> Option<T> {
        let id = id?;
        rows.iter().find(|r| id_of(r) == id).cloned()
    }
    fn ids<I>(tickets: &[Ticket], of: impl Fn(&Ticket) -> Vec<I>) -> Vec<I> {
        tickets.iter().flat_map(of).collect()
    }
    let companies = parties::companies_by_id(conn, &ids(tickets, |t| vec![t.company_id])).await?;
    let locations =
        parties::locations_by_id(conn, &ids(tickets, |t| t.location_id.into_iter().collect()))
            .await?;
    let contacts =
        parties::contacts_by_id(conn, &ids(tickets, |t| t.contact_id.into_iter().collect()))
            .await?;
    let queues =
        parties::queues_by_id(conn, &ids(tickets, |t| t.queue_id.into_iter().collect())).await?;
    let contracts =
        parties::contracts_by_id(conn, &ids(tickets, |t| t.contract_id.into_iter().collect()))
            .await?;
    let resources = parties::resources_by_id(
        conn,
        &ids(tickets, |t| {
            // Past the limit the rules refuse the list whole: no need to look it all up
            // (nor to send the database more parameters than it takes).
            let mut ids: Vec<_> = t
                .secondary_resource_ids
                .iter()
                .take(fixpoint_core::ticket::SECONDARY_RESOURCES_MAX)
                .copied()
                .collect();
            ids.extend(t.assigned_resource_id);
            ids
        }),
    )
    .await?;
    let roles = parties::roles_by_id(
        conn,
        &ids(tickets, |t| t.assigned_role_id.into_iter().collect()),
    )
    .await?;
    let issue_types = catalog::issue_types_by_id(
        conn,
        &ids(tickets, |t| {
            t.issue_type_id
                .into_iter()
                .chain(t.sub_issue_type_id)
                .collect()
        }),
    )
    .await?;
    let problems = store_tickets::linked_by_id(
        conn,
        &ids(tickets, |t| t.problem_ticket_id.into_iter().collect()),
    )
    .await?;
    Ok(tickets
        .iter()
        .map(|t| Refs {
            company: found(&companies, Some(t.company_id), |c| c.id),
            location: found(&locations, t.location_id, |l| l.id),
            contact: found(&contacts, t.contact_id, |c| c.id),
            queue: found(&queues, t.queue_id, |q| q.id),
            contract: found(&contracts, t.contract_id, |c| c.id),
            assigned_resource: found(&resources, t.assigned_resource_id, |r| r.id),
            assigned_role: found(&roles, t.assigned_role_id, |r| r.id),
            secondary_resources: t
                .secondary_resource_ids
                .iter()
                .filter_map(|id| found(&resources, Some(*id), |r| r.id))
                .collect(),
            issue_type: found(&issue_types, t.issue_type_id, |i| i.id),
            sub_issue_type: found(&issue_types, t.sub_issue_type_id, |i| i.id),
            problem_ticket: found(&problems, t.problem_ticket_id, |p| p.id),
            incident_count: 0,
        })
        .collect())
}

pub async fn get(store: &Store, id: TicketId, now: Timestamp) -> ServiceResult<TicketView> {
    let mut conn = store.read().await?;
    let ticket = existing(&mut conn, id).await?;
    Ok(SlaSetup::load(store, &mut conn).await?.view(ticket, now))
}

pub struct ViewPage {
    pub items: Vec<TicketView>,
    pub next_cursor: Option<Cursor>,
    /// Counted when asked for ([`Total::Count`]).
    pub total: Option<i64>,
}

/// Whether a list also counts every ticket its filter selects (a second walk over
/// the matches, the dearer half of a large queue's page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Count,
    Skip,
}

/// One page of the tickets a filter selects, as of `now`.
pub async fn list(
    store: &Store,
    filter: &Node,
    sort: Sort,
    limit: u64,
    after: Option<Cursor>,
    now: Timestamp,
    total: Total,
) -> ServiceResult<ViewPage> {
    let mut conn = store.read().await?;
    let setup = SlaSetup::load(store, &mut conn).await?;
    let query = ListQuery {
        filter,
        catalog: setup.catalog(),
        now,
        sort,
        limit,
        after,
    };
    let (page, total) = match total {
        Total::Skip => (store_tickets::list(&mut conn, &query).await?, None),
        Total::Count => {
            let (page, total) =
                store_tickets::list_counted(&mut conn, || store.spare_read(), &query).await?;
            (page, Some(total))
        }
    };
    Ok(ViewPage {
        items: page.items.into_iter().map(|t| setup.view(t, now)).collect(),
        next_cursor: page.next_cursor,
        total,
    })
}

/// A ticket that may be the same problem as a new one, with how alike its title is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimilarTicket {
    #[serde(flatten)]
    pub view: TicketView,
    /// From 0.3 (somewhat alike) to 1 (the same words).
    pub similarity: f64,
}

/// How many of a company's open tickets, the most recent, a duplicate check compares.
pub const SIMILAR_CANDIDATES: u64 = 2000;

/// The company's open tickets whose title is like `title`, most alike first: the
/// duplicate check of a ticket's creation.
pub async fn similar(
    store: &Store,
    company: CompanyId,
    title: &str,
    limit: usize,
    now: Timestamp,
) -> ServiceResult<Vec<SimilarTicket>> {
    let mut conn = store.read().await?;
    let setup = SlaSetup::load(store, &mut conn).await?;
    let open: Vec<StatusId> = setup
        .catalog()
        .statuses
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.id)
        .collect();
    let candidates =
        store_tickets::recent_titles(&mut conn, company, &open, SIMILAR_CANDIDATES).await?;
    let mut found = Vec::new();
    for (id, score) in fixpoint_core::similar::rank(title, candidates, limit) {
        if let Some(ticket) = store_tickets::get(&mut conn, id).await? {
            found.push(SimilarTicket {
                view: setup.view(ticket, now),
                similarity: (score * 1000.0).round() / 1000.0,
            });
        }
    }
    Ok(found)
}

async fn existing(conn: &mut Conn, id: TicketId) -> ServiceResult<Ticket> {
    Ok(store_tickets::get(conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("ticket", id))?)
}

/// [`existing`], held for a change this transaction writes
/// ([`store_tickets::get_to_change`]): a write without `If-Match` then applies to the
/// version it finds on every backend, and one with it meets the version it names.
pub(crate) async fn existing_to_change(tx: &mut Conn, id: TicketId) -> ServiceResult<Ticket> {
    Ok(store_tickets::get_to_change(tx, id)
        .await?
        .ok_or_else(|| DomainError::not_found("ticket", id))?)
}

/// Adds a note. The first external note is the ticket's first response, if it had none.
pub async fn add_note(
    store: &Store,
    actor: &str,
    id: TicketId,
    new: NewNote,
    at: Timestamp,
) -> ServiceResult<Note> {
    new.check()?;
    let mut tx = store.write().await?;
    let note = note_in(store, &mut tx, actor, id, new, at).await?;
    Store::commit(tx).await?;
    Ok(note)
}

/// A note and the time spent on it, in one transaction (a HaloPSA action): both
/// land or neither.
pub async fn add_action(
    store: &Store,
    actor: &str,
    id: TicketId,
    note: NewNote,
    time: Vec<NewTimeEntry>,
    at: Timestamp,
) -> ServiceResult<(Note, Vec<TimeEntry>)> {
    note.check()?;
    let mut tx = store.write().await?;
    let note = note_in(store, &mut tx, actor, id, note, at).await?;
    let mut entries = Vec::with_capacity(time.len());
    for time in time {
        entries.push(time_in(&mut tx, actor, id, time, Some(note.id), at).await?);
    }
    Store::commit(tx).await?;
    Ok((note, entries))
}

pub async fn note(store: &Store, id: NoteId) -> ServiceResult<Note> {
    let mut conn = store.read().await?;
    existing_note(&mut conn, id).await
}

/// A ticket's notes with the time logged with each, oldest first.
pub async fn actions(store: &Store, id: TicketId) -> ServiceResult<Vec<(Note, Vec<TimeEntry>)>> {
    let mut conn = store.read().await?;
    existing(&mut conn, id).await?;
    let notes = work::notes(&mut conn, id).await?;
    let ids: Vec<NoteId> = notes.iter().map(|n| n.id).collect();
    let mut entries = work::time_entries_of_notes(&mut conn, &ids).await?;
    Ok(notes
        .into_iter()
        .map(|note| {
            let (with, rest) = entries.drain(..).partition(|e| e.note_id == Some(note.id));
            entries = rest;
            (note, with)
        })
        .collect())
}

/// Deletes a note and the time logged with it.
pub async fn delete_action(
    store: &Store,
    actor: &str,
    id: NoteId,
    at: Timestamp,
) -> ServiceResult<()> {
    remove_note(store, actor, id, WithTime::Delete, at).await
}

pub(crate) async fn note_in(
    store: &Store,
    tx: &mut Conn,
    actor: &str,
    id: TicketId,
    new: NewNote,
    at: Timestamp,
) -> ServiceResult<Note> {
    let ticket = existing_to_change(tx, id).await?;
    if let Some(contact) = new.contact_id {
        let found = parties::contact(tx, contact).await?;
        let mut client = parties::company_ancestors(tx, ticket.company_id).await?;
        client.push(ticket.company_id);
        new.check_author(found.as_ref(), &client)?;
    }
    let mut note = Note {
        id: Default::default(),
        ticket_id: id,
        title: new.title,
        body: new.body,
        visibility: new.visibility,
        kind: new.kind,
        author: actor.to_owned(),
        contact_id: new.contact_id,
        created_at: at,
    };
    // The note's row first, for its id; its search document, event, and the ticket's
    // activity and history in one go after.
    let mut later = Writes::default();
    note.id = work::insert_note(tx, &note, &mut later).await?;
    super::outbox::note_created(&mut later, &note, (&new.email_to, &new.email_cc));
    let added = FieldChange {
        field: "note_added".into(),
        old: None,
        new: Some(note.id.to_string()),
    };
    if note.responds_to_client() && ticket.first_response_at.is_none() {
        later.run(tx).await?;
        let setup = SlaSetup::load(store, tx).await?;
        let catalog = setup.catalog();
        let mut after = ticket.clone();
        after.first_response_at = Some(at);
        let clock = clock_of(catalog, ticket.status_id);
        sla::advance(
            setup.context(after.sla_policy_id),
            Some(&ticket),
            Some(clock),
            &mut after,
            clock,
            at,
        );
        let mut changes = ticket::diff(Some(&ticket), &after);
        changes.push(added);
        write_change(tx, &ticket, after, &changes, actor, at).await?;
    } else {
        store_tickets::touch_later(&mut later, id, at);
        store_tickets::history_later(&mut later, id, ticket.version, at, actor, &[added]);
        later.run(tx).await?;
    }
    Ok(note)
}

/// Deletes a ticket with everything on it; a problem with incidents stays.
pub async fn delete(store: &Store, id: TicketId) -> ServiceResult<()> {
    let mut tx = store.write().await?;
    let ticket = existing(&mut tx, id).await?;
    let incidents = store_tickets::incident_count(&mut tx, id).await?;
    rules::check_delete(&ticket, incidents)?;
    store_tickets::delete(&mut tx, id).await?;
    Store::commit(tx).await?;
    Ok(())
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
    at: Timestamp,
) -> ServiceResult<TimeEntry> {
    let mut tx = store.write().await?;
    let entry = time_in(&mut tx, actor, id, new, None, at).await?;
    Store::commit(tx).await?;
    Ok(entry)
}

async fn time_in(
    tx: &mut Conn,
    actor: &str,
    id: TicketId,
    new: NewTimeEntry,
    note_id: Option<NoteId>,
    at: Timestamp,
) -> ServiceResult<TimeEntry> {
    let ticket = existing_to_change(tx, id).await?;
    let resource = parties::resource(tx, new.resource_id).await?;
    let minutes = new.check(resource.as_ref())?;
    let mut entry = TimeEntry {
        id: Default::default(),
        ticket_id: id,
        resource_id: new.resource_id,
        started_at: new.started_at,
        ended_at: new.ended_at,
        minutes,
        billable: new.billable,
        notes: new.notes,
        note_id,
        created_at: at,
    };
    entry.id = work::insert_time_entry(tx, &entry).await?;
    let mut later = Writes::default();
    super::outbox::time_entry_created(&mut later, &entry, actor);
    store_tickets::touch_later(&mut later, id, at);
    let change = event("time_logged", None, Some(logged(&entry)));
    store_tickets::history_later(&mut later, id, ticket.version, at, actor, &[change]);
    later.run(tx).await?;
    Ok(entry)
}

/// Records on a ticket's history that something on it changed, without a new version.
async fn note_on_history(
    conn: &mut Conn,
    ticket: TicketId,
    change: FieldChange,
    actor: &str,
    at: Timestamp,
) -> ServiceResult<()> {
    let version = existing(conn, ticket).await?.version;
    let mut later = Writes::default();
    store_tickets::touch_later(&mut later, ticket, at);
    store_tickets::history_later(&mut later, ticket, version, at, actor, &[change]);
    later.run(conn).await?;
    Ok(())
}

fn event(field: &str, old: Option<String>, new: Option<String>) -> FieldChange {
    FieldChange {
        field: field.into(),
        old,
        new,
    }
}

async fn existing_note(conn: &mut Conn, id: NoteId) -> ServiceResult<Note> {
    Ok(work::notes_by_ids(conn, &[id.0])
        .await?
        .pop()
        .ok_or_else(|| DomainError::not_found("note", id))?)
}

/// Edits a note's text, visibility or kind. The first response stays what it was:
/// an edit is not a new message to the client.
pub async fn update_note(
    store: &Store,
    actor: &str,
    id: NoteId,
    patch: NotePatch,
    at: Timestamp,
) -> ServiceResult<Note> {
    let mut tx = store.write().await?;
    let before = existing_note(&mut tx, id).await?;
    let after = patch.apply_to(&before)?;
    if after != before {
        work::update_note(&mut tx, &after).await?;
        let change = event("note_edited", None, Some(id.to_string()));
        note_on_history(&mut tx, after.ticket_id, change, actor, at).await?;
        Store::commit(tx).await?;
    }
    Ok(after)
}

/// Deletes a note; time logged with it stays, no longer tied to a note.
pub async fn delete_note(
    store: &Store,
    actor: &str,
    id: NoteId,
    at: Timestamp,
) -> ServiceResult<()> {
    remove_note(store, actor, id, WithTime::Keep, at).await
}

/// What becomes of the time logged with a deleted note.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WithTime {
    Keep,
    Delete,
}

async fn remove_note(
    store: &Store,
    actor: &str,
    id: NoteId,
    with_time: WithTime,
    at: Timestamp,
) -> ServiceResult<()> {
    let mut tx = store.write().await?;
    let note = existing_note(&mut tx, id).await?;
    if with_time == WithTime::Delete {
        for entry in work::time_entries_of_notes(&mut tx, &[id]).await? {
            work::delete_time_entry(&mut tx, entry.id).await?;
            let change = event("time_deleted", Some(logged(&entry)), None);
            note_on_history(&mut tx, entry.ticket_id, change, actor, at).await?;
        }
    }
    work::delete_note(&mut tx, &note).await?;
    let change = event("note_deleted", Some(id.to_string()), None);
    note_on_history(&mut tx, note.ticket_id, change, actor, at).await?;
    Store::commit(tx).await?;
    Ok(())
}

async fn existing_entry(conn: &mut Conn, id: TimeEntryId) -> ServiceResult<TimeEntry> {
    Ok(work::time_entries_by_ids(conn, &[id.0])
        .await?
        .pop()
        .ok_or_else(|| DomainError::not_found("time entry", id))?)
}

fn logged(entry: &TimeEntry) -> String {
    format!(
        "{} min{}",
        entry.minutes,
        if entry.billable { " billable" } else { "" }
    )
}

/// Corrects a time entry; the result is checked as if it were logged anew.
pub async fn update_time_entry(
    store: &Store,
    actor: &str,
    id: TimeEntryId,
    patch: TimeEntryPatch,
    at: Timestamp,
) -> ServiceResult<TimeEntry> {
    let mut tx = store.write().await?;
    let before = existing_entry(&mut tx, id).await?;
    let new = patch.apply_to(&before);
    let resource = parties::resource(&mut tx, new.resource_id).await?;
    let same_resource = new.resource_id == before.resource_id;
    // A technician who has since left may still have their past hours corrected.
    let minutes = match resource {
        Some(mut r) if same_resource => {
            r.active = true;
            new.check(Some(&r))?
        }
        other => new.check(other.as_ref())?,
    };
    let after = TimeEntry {
        resource_id: new.resource_id,
        started_at: new.started_at,
        ended_at: new.ended_at,
        minutes,
        billable: new.billable,
        notes: new.notes,
        ..before.clone()
    };
    if after != before {
        work::update_time_entry(&mut tx, &after).await?;
        let change = event("time_edited", Some(logged(&before)), Some(logged(&after)));
        note_on_history(&mut tx, after.ticket_id, change, actor, at).await?;
        Store::commit(tx).await?;
    }
    Ok(after)
}

pub async fn delete_time_entry(
    store: &Store,
    actor: &str,
    id: TimeEntryId,
    at: Timestamp,
) -> ServiceResult<()> {
    let mut tx = store.write().await?;
    let entry = existing_entry(&mut tx, id).await?;
    work::delete_time_entry(&mut tx, id).await?;
    let change = event("time_deleted", Some(logged(&entry)), None);
    note_on_history(&mut tx, entry.ticket_id, change, actor, at).await?;
    Store::commit(tx).await?;
    Ok(())
}

pub async fn time_entries(store: &Store, id: TicketId) -> ServiceResult<Vec<TimeEntry>> {
    let mut conn = store.read().await?;
    existing(&mut conn, id).await?;
    Ok(work::time_entries(&mut conn, id).await?)
}

/// A ticket's time entries, with the billable and non-billable work each split by
/// the business hours of the ticket's SLA calendar.
pub struct WorkHours {
    pub entries: Vec<TimeEntry>,
    pub billable: SlaSplit,
    pub non_billable: SlaSplit,
}

pub async fn work_hours(store: &Store, id: TicketId) -> ServiceResult<WorkHours> {
    let mut conn = store.read().await?;
    let ticket = existing(&mut conn, id).await?;
    let entries = work::time_entries(&mut conn, id).await?;
    let setup = SlaSetup::load(store, &mut conn).await?;
    let calendar = setup.context(ticket.sla_policy_id).map(|c| c.calendar);
    let (billable, non_billable): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.billable);
    Ok(WorkHours {
        billable: SlaSplit::of(billable, calendar),
        non_billable: SlaSplit::of(non_billable, calendar),
        entries,
    })
}

pub async fn billable(store: &Store, id: TicketId) -> ServiceResult<BillableSummary> {
    Ok(BillableSummary::of(&time_entries(store, id).await?))
}

pub async fn history(store: &Store, id: TicketId) -> ServiceResult<Vec<HistoryEntry>> {
    let mut conn = store.read().await?;
    existing(&mut conn, id).await?;
    Ok(store_tickets::history(&mut conn, id).await?)
}
