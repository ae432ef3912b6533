//! Events: written with the change that caused them, in its transaction, then
//! dispatched once — to each subscribed webhook and, as mail, to the people a ticket
//! talks to.

use fixpoint_core::ticket::{FieldChange, Ticket};
use fixpoint_core::time_entry::{Note, TimeEntry};
use fixpoint_core::webhook::EventType;
use fixpoint_store::Writes;
use fixpoint_store::escalation::{OutboxEvent, enqueue_many, enqueue_many_later};
use fixpoint_store::messages::{self as rows, NewDelivery};
use fixpoint_store::{Conn, Store};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::ServiceResult;
use crate::messaging::Settings;

fn enqueue(later: &mut Writes, event: EventType, payload: Value, at: Timestamp) {
    enqueue_many_later(later, event.as_str(), &[payload], at);
}

/// One `ticket.created` event per ticket opened, each with who opened it and when.
pub(crate) fn tickets_created(later: &mut Writes, opened: &[(&Ticket, &str, Timestamp)]) {
    let Some(latest) = opened.iter().map(|(_, _, at)| *at).max() else {
        return;
    };
    let payloads: Vec<Value> = opened
        .iter()
        .map(|(t, actor, at)| {
            json!({
                "ticket_id": t.id, "number": t.number, "title": t.title,
                "company_id": t.company_id, "contact_id": t.contact_id, "queue_id": t.queue_id,
                "status_id": t.status_id, "priority_id": t.priority_id, "source": t.source,
                "actor": actor, "at": at,
            })
        })
        .collect();
    enqueue_many_later(later, EventType::TicketCreated.as_str(), &payloads, latest);
}

pub(crate) fn ticket_updated(
    later: &mut Writes,
    t: &Ticket,
    changes: &[FieldChange],
    actor: &str,
    at: Timestamp,
) {
    let payload = json!({
        "ticket_id": t.id, "number": t.number, "version": t.version,
        "changes": changes, "actor": actor, "at": at,
    });
    enqueue(later, EventType::TicketUpdated, payload, at);
}

pub(crate) fn note_created(
    later: &mut Writes,
    note: &Note,
    (email_to, email_cc): (&[String], &[String]),
) {
    let payload = json!({
        "ticket_id": note.ticket_id, "note_id": note.id, "visibility": note.visibility,
        "kind": note.kind, "author": note.author, "contact_id": note.contact_id,
        "email_to": email_to, "email_cc": email_cc, "at": note.created_at,
    });
    enqueue(later, EventType::NoteCreated, payload, note.created_at);
}

pub(crate) fn time_entry_created(later: &mut Writes, e: &TimeEntry, actor: &str) {
    let payload = json!({
        "ticket_id": e.ticket_id, "time_entry_id": e.id, "resource_id": e.resource_id,
        "minutes": e.minutes, "billable": e.billable, "note_id": e.note_id,
        "actor": actor, "at": e.created_at,
    });
    enqueue(later, EventType::TimeEntryCreated, payload, e.created_at);
}

/// How far back a sweep looks for SLA crossings: a server down for longer does not
/// warn of old ones.
const SLA_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Writes `sla.at_risk` and `sla.breached` events for targets that crossed their line
/// since the window began and were not reported yet.
pub(crate) async fn sla_alerts(tx: &mut Conn, now: Timestamp) -> ServiceResult<usize> {
    let crossings = rows::sla_crossings(tx, now - SLA_WINDOW, now).await?;
    if crossings.is_empty() {
        return Ok(0);
    }
    let fresh = rows::record_sla_alerts(tx, &crossings, now).await?;
    for kind in [EventType::SlaAtRisk, EventType::SlaBreached] {
        let payloads: Vec<Value> = fresh
            .iter()
            .filter(|a| match kind {
                EventType::SlaAtRisk => a.kind == "at_risk",
                _ => a.kind == "breached",
            })
            .map(|a| json!({"ticket_id": a.ticket_id, "number": a.number, "target": a.target, "due_at": a.due_at, "at": now}))
            .collect();
        if !payloads.is_empty() {
            enqueue_many(tx, kind.as_str(), &payloads, now).await?;
        }
    }
    Ok(fresh.len())
}

/// Events per dispatch transaction.
const BATCH: u64 = 200;

/// Dispatches pending events: a delivery row per subscribed webhook and the mail
/// each event calls for, in the transaction that marks the events dispatched, so an
/// event is fanned out once however many servers dispatch. Returns how many events.
pub async fn dispatch(store: &Store, settings: &Settings, now: Timestamp) -> ServiceResult<usize> {
    {
        let mut conn = store.read().await?;
        if rows::pending_event_count(&mut conn).await? == 0 {
            return Ok(0);
        }
    }
    let mut tx = store.write().await?;
    let events = rows::claim_events(&mut tx, BATCH, now).await?;
    if events.is_empty() {
        return Ok(0);
    }
    let hooks = rows::webhooks(&mut tx, true).await?;
    let mut deliveries = Vec::new();
    for event in &events {
        for hook in hooks
            .iter()
            .filter(|h| h.events.iter().any(|e| e == &event.topic))
        {
            deliveries.push(NewDelivery {
                webhook_id: hook.id,
                event_id: event.id,
                event_type: event.topic.clone(),
                payload: envelope(event, now),
            });
        }
    }
    rows::insert_deliveries(&mut tx, &deliveries, now).await?;
    if let Some(mail) = &settings.mail {
        let reference = super::mail::Catalogue::load(&mut tx).await?;
        for event in &events {
            super::mail::compose_for_event(&mut tx, mail, &reference, event, now).await?;
        }
    }
    Store::commit(tx).await?;
    Ok(events.len())
}

/// The body a receiver gets: the event's id (stable across retries), type, time and data.
fn envelope(event: &OutboxEvent, now: Timestamp) -> String {
    let data: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    let created_at = data.get("at").cloned().unwrap_or_else(|| json!(now));
    json!({"id": event.id, "type": event.topic, "created_at": created_at, "data": data}).to_string()
}
