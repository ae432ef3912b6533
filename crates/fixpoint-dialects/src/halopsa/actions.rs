//! `/api/Actions`: a HaloPSA action is a note on a ticket and the time spent on it.
//! `outcome` is the note's title, `hiddenfromuser` its visibility, `timetaken` (or
//! `actionchargehours` / `actionnonchargehours`) hours that become time entries,
//! logged with the note in one transaction.

use fixpoint_core::ids::{NoteId, ResourceId, StatusId, TicketId};
use fixpoint_core::ticket::TicketPatch;
use fixpoint_core::time_entry::{
    NewNote, NewTimeEntry, Note, NoteKind, NotePatch, TimeEntry, TimeEntryPatch, Visibility,
};
use fixpoint_server::service::tickets as service;
use fixpoint_store::dialects::CodeKind;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::tickets::{Vocabulary, at, hours};
use super::{Call, Error, each_record, ok, upserted};
use crate::body::Body;

/// HaloPSA's action types (seed 003) as Fixpoint's note kinds.
const ACTION_TYPES: [(i64, NoteKind, &str); 4] = [
    (0, NoteKind::Note, "Note"),
    (1, NoteKind::Email, "Email"),
    (2, NoteKind::Phone, "Phone Call"),
    (3, NoteKind::SiteVisit, "Site Visit"),
];
/// HaloPSA's "Status Change" action type: a note that also moves the ticket.
const STATUS_CHANGE: i64 = 4;

fn action_type(kind: NoteKind) -> i64 {
    ACTION_TYPES
        .iter()
        .find(|(_, k, _)| *k == kind)
        .map_or(0, |(code, _, _)| *code)
}

/// An action as HaloPSA shows it.
fn action_json(note: &Note, entries: &[TimeEntry]) -> Value {
    let minutes = |billable: bool| -> i64 {
        entries
            .iter()
            .filter(|e| e.billable == billable)
            .map(|e| e.minutes)
            .sum()
    };
    let (charge, no_charge) = (minutes(true), minutes(false));
    json!({
        "id": note.id.0,
        "ticket_id": note.ticket_id.0,
        "outcome": note.title.clone().unwrap_or_default(),
        "outcome_id": Value::Null,
        "note": note.body,
        "note_html": note.body,
        "hiddenfromuser": note.visibility == Visibility::Internal,
        "timetaken": hours(charge + no_charge),
        "actionchargehours": hours(charge),
        "actionnonchargehours": hours(no_charge),
        "actisbillable": charge > 0,
        "who": note.author,
        "who_type": if note.is_by_client() { 2 } else { 1 },
        "who_agentid": entries.first().map(|e| e.resource_id.0),
        "who_userid": note.contact_id.map(|c| c.0),
        "datetime": at(Some(note.created_at)),
        "actiondatecreated": at(Some(note.created_at)),
        "actiontype_id": action_type(note.kind),
        "new_status": Value::Null,
        "new_status_name": Value::Null,
        "emailto": Value::Null,
        "emailcc": Value::Null,
        "important": false,
        "is_system": note.is_system(),
    })
}

/// The list filters an action list honours.
#[derive(Default)]
pub struct Only {
    excludesys: bool,
    excludeprivate: bool,
    conversationonly: bool,
    agentonly: bool,
    importantonly: bool,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    count: Option<usize>,
}

impl Only {
    fn from(call: &Call) -> Result<Self, Error> {
        let date = |name: &str| {
            call.param(name)
                .map(|t| {
                    fixpoint_core::query::parse_instant(t).ok_or_else(|| {
                        Error::field(name, format!("'{t}' is not a date such as 2026-11-24"))
                    })
                })
                .transpose()
        };
        Ok(Self {
            excludesys: call.flag("excludesys") || call.flag("nonsystem"),
            excludeprivate: call.flag("excludeprivate"),
            conversationonly: call.flag("conversationonly"),
            agentonly: call.flag("agentonly"),
            importantonly: call.flag("importantonly"),
            start: date("startdate")?,
            end: date("enddate")?,
            count: call
                .param("count")
                .and_then(|c| c.trim().parse::<usize>().ok()),
        })
    }

    fn keeps(&self, note: &Note) -> bool {
        !(self.excludesys && note.is_system()
            || self.excludeprivate && note.visibility == Visibility::Internal
            || self.conversationonly && note.visibility != Visibility::External
            || self.agentonly && note.is_by_client()
            // Fixpoint does not flag notes as important.
            || self.importantonly
            || self.start.is_some_and(|s| note.created_at < s)
            || self.end.is_some_and(|e| note.created_at > e))
    }
}

/// A ticket's actions, oldest first, as the filters keep them.
pub async fn of_ticket(call: &Call, ticket: i64, only: &Only) -> Result<Vec<Value>, Error> {
    let actions = service::actions(&call.state.store, TicketId(ticket)).await?;
    let mut shown: Vec<Value> = actions
        .iter()
        .filter(|(note, _)| only.keeps(note))
        .map(|(note, entries)| action_json(note, entries))
        .collect();
    if let Some(count) = only.count {
        shown.truncate(count);
    }
    Ok(shown)
}

pub async fn list(call: &Call, ticket: Option<i64>) -> Result<axum::response::Response, Error> {
    let ticket = match ticket {
        Some(id) => id,
        None => call.int("ticket_id")?.ok_or_else(|| {
            Error::field(
                "ticket_id",
                "is required: Fixpoint lists the actions of one ticket at a time",
            )
        })?,
    };
    let actions = of_ticket(call, ticket, &Only::from(call)?).await?;
    ok(json!({"record_count": actions.len(), "actions": actions}))
}

async fn find(call: &Call, id: i64) -> Result<(Note, Vec<TimeEntry>), Error> {
    let wanted_ticket = call.int("ticket_id")?;
    let note = service::note(&call.state.store, NoteId(id)).await?;
    if wanted_ticket.is_some_and(|t| t != note.ticket_id.0) {
        return Err(Error::not_found(format!(
            "ticket {} has no action {id}",
            wanted_ticket.unwrap_or_default()
        )));
    }
    let mut actions = service::actions(&call.state.store, note.ticket_id).await?;
    let found = actions
        .iter()
        .position(|(n, _)| n.id == note.id)
        .ok_or_else(|| Error::not_found(format!("action {id} does not exist")))?;
    Ok(actions.swap_remove(found))
}

pub async fn get(call: &Call, id: i64) -> Result<axum::response::Response, Error> {
    let (note, entries) = find(call, id).await?;
    ok(action_json(&note, &entries))
}

pub async fn delete(call: &Call, id: i64) -> Result<axum::response::Response, Error> {
    let caller = call.writer()?;
    service::delete_action(
        &call.state.store,
        &caller.actor(),
        NoteId(id),
        call.state.now(),
    )
    .await?;
    ok(json!({}))
}

pub async fn upsert(call: &Call) -> Result<axum::response::Response, Error> {
    call.writer()?;
    let records = call.records()?;
    let done = each_record(&records, |record| upsert_one(call, record)).await?;
    let any_created = done.iter().any(|(_, created)| *created);
    let shown = done.into_iter().map(|(value, _)| value).collect();
    upserted("actions", shown, any_created)
}

/// The time a record logs: `timetaken` (billable unless `charge` is false), or
/// `actionchargehours` and `actionnonchargehours` separately. Minutes, rounded.
fn time(body: &Body<'_>) -> Result<Vec<(i64, bool)>, Error> {
    let minutes = |field: &str| -> Result<Option<i64>, Error> {
        match body.number(field)?.flatten() {
            None => Ok(None),
            Some(h) if h < 0.0 => Err(Error::field(field, "cannot be negative")),
            // The core judges the range; `as` saturates, so no value can overflow.
            Some(h) => Ok(Some((h * 60.0).round() as i64).filter(|m| *m > 0)),
        }
    };
    let mut out = Vec::new();
    let charged = minutes("actionchargehours")?;
    let not_charged = minutes("actionnonchargehours")?;
    if charged.is_some() || not_charged.is_some() {
        out.extend(charged.map(|m| (m, true)));
        out.extend(not_charged.map(|m| (m, false)));
    } else if let Some(m) = minutes("timetaken")? {
        let billable = body
            .boolean("charge")?
            .or(body.boolean("actisbillable")?)
            .unwrap_or(true);
        out.push((m, billable));
    }
    Ok(out)
}

async fn upsert_one(call: &Call, record: &Map<String, Value>) -> Result<(Value, bool), Error> {
    let body = Body(record);
    let actor = call.actor();
    let now = call.state.now();
    let note_text = match body.text("note")?.flatten() {
        Some(text) => Some(text),
        None => body.text("note_html")?.flatten(),
    };
    let outcome = body.text("outcome")?.flatten();
    let visibility = body.boolean("hiddenfromuser")?.map(|hidden| {
        if hidden {
            Visibility::Internal
        } else {
            Visibility::External
        }
    });
    let kind = match body.int("actiontype_id")?.flatten() {
        None | Some(STATUS_CHANGE) => None,
        Some(code) => Some(
            ACTION_TYPES
                .iter()
                .find(|(c, _, _)| *c == code)
                .map(|(_, k, _)| *k)
                .ok_or_else(|| {
                    let allowed: Vec<String> = ACTION_TYPES
                        .iter()
                        .map(|(c, _, n)| format!("{c} ({n})"))
                        .chain([format!("{STATUS_CHANGE} (Status Change)")])
                        .collect();
                    Error::field(
                        "actiontype_id",
                        format!("{code} is not an action type; use {}", allowed.join(", ")),
                    )
                })?,
        ),
    };
    let time = time(&body)?;
    let created;
    let (note, entries) = match body.int("id")?.flatten().filter(|id| *id > 0) {
        Some(id) => {
            created = false;
            let (before, entries) = find(call, id).await?;
            let patch = NotePatch {
                title: outcome.map(Some),
                body: note_text,
                visibility,
                kind,
            };
            let note =
                service::update_note(&call.state.store, &actor, before.id, patch, now).await?;
            let entries = match (time.as_slice(), entries.as_slice()) {
                ([], _) => entries,
                ([(minutes, billable)], [entry]) => {
                    let patch = TimeEntryPatch {
                        minutes: Some(*minutes),
                        billable: Some(*billable),
                        started_at: Some(None),
                        ended_at: Some(None),
                        ..Default::default()
                    };
                    vec![
                        service::update_time_entry(&call.state.store, &actor, entry.id, patch, now)
                            .await?,
                    ]
                }
                _ => {
                    return Err(Error::field(
                        "timetaken",
                        "an action's time can be changed only when it has one time entry; add a new action for more time",
                    ));
                }
            };
            (note, entries)
        }
        None => {
            created = true;
            let ticket = body
                .int("ticket_id")?
                .flatten()
                .ok_or_else(|| Error::field("ticket_id", "is required"))?;
            let outcome = outcome.ok_or_else(|| {
                Error::field("outcome", "is required (the action's one-line summary)")
            })?;
            let new = NewNote {
                body: note_text
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| outcome.clone()),
                title: Some(outcome),
                visibility: visibility.unwrap_or_default(),
                kind: kind.unwrap_or_default(),
                contact_id: None,
                email_to: addresses(&body, "emailto")?,
                email_cc: addresses(&body, "emailcc")?,
            };
            let agent = match time.is_empty() {
                true => None,
                false => Some(agent(call, &body, TicketId(ticket)).await?),
            };
            let logged = time
                .iter()
                .map(|(minutes, billable)| NewTimeEntry {
                    resource_id: agent.unwrap_or_default(),
                    started_at: None,
                    ended_at: None,
                    minutes: Some(*minutes),
                    billable: *billable,
                    notes: None,
                })
                .collect();
            service::add_action(
                &call.state.store,
                &actor,
                TicketId(ticket),
                new,
                logged,
                now,
            )
            .await?
        }
    };
    if let Some(code) = body.int("new_status")?.flatten() {
        let status = {
            let mut conn = call.state.store.read().await?;
            let v = Vocabulary::load(call, &mut conn).await?;
            v.id(CodeKind::Status, "new_status", code)?
        };
        let patch = TicketPatch {
            status_id: Some(StatusId(status)),
            ..Default::default()
        };
        service::update(&call.state.store, &actor, note.ticket_id, patch, None, now).await?;
    }
    let mut shown = action_json(&note, &entries);
    if let Some(code) = body.int("new_status")?.flatten() {
        shown["new_status"] = json!(code);
    }
    Ok((shown, created))
}

/// Who the time is logged for: the record's `agent_id` (or `who_agentid`), else the
/// agent the API client acts as, else the ticket's agent.
async fn agent(call: &Call, body: &Body<'_>, ticket: TicketId) -> Result<ResourceId, Error> {
    if let Some(id) = body
        .int("agent_id")?
        .flatten()
        .or(body.int("who_agentid")?.flatten())
    {
        return Ok(ResourceId(id));
    }
    if let Some(id) = call.caller().resource_id {
        return Ok(id);
    }
    let view = service::get(&call.state.store, ticket, call.state.now()).await?;
    view.ticket.assigned_resource_id.ok_or_else(|| {
        Error::field(
            "agent_id",
            "time needs an agent: send agent_id, assign the ticket, or create the API client with --agent-id",
        )
    })
}

/// A list of recipients in HaloPSA's one text field (`a@x.example;b@y.example`).
fn addresses(body: &Body, field: &str) -> Result<Vec<String>, Error> {
    match body.text(field)?.flatten() {
        Some(list) => Ok(fixpoint_core::mail::parse_addresses(field, &list)?),
        None => Ok(Vec::new()),
    }
}
