//! The escalation sweep: runs on a timer on every server; the database makes each
//! escalation happen once per ticket and rule, however many sweeps overlap.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use fixpoint_core::escalation::{self, Crossed};
use fixpoint_core::ids::TicketId;
use fixpoint_core::ticket::FieldChange;
use fixpoint_core::time_entry::{Note, NoteKind, Visibility};
use fixpoint_store::escalation::{self as rows, EscalationEntry, EscalationFilter};
use fixpoint_store::{Store, tickets, work};
use jiff::Timestamp;
use serde_json::json;

use super::ServiceResult;
use crate::clock::Clock;

pub const ACTOR: &str = "fixpoint:escalation";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepReport {
    /// Open tickets some rule might have crossed.
    pub candidates: usize,
    /// Escalations recorded by this sweep.
    pub escalated: usize,
}

/// Tickets recorded per transaction: bounds the sweep's memory and how long it holds
/// SQLite's one writer when many tickets cross at once (an import, a long outage).
const SWEEP_CHUNK: usize = 1000;

/// Records every rule each open ticket has crossed by `now` and not yet recorded: a
/// history entry, an internal note, and an outbox event, in one transaction per
/// [`SWEEP_CHUNK`] tickets; and the SLA targets that turned at risk or breached since
/// the last sweeps (`sla.at_risk`, `sla.breached` events, once each).
pub async fn sweep(store: &Store, now: Timestamp) -> ServiceResult<SweepReport> {
    let (rules, candidates) = {
        let mut conn = store.read().await?;
        let rules = rows::rules(&mut conn).await?;
        let candidates = rows::candidates(&mut conn, &rules, now).await?;
        (rules, candidates)
    };
    let mut report = SweepReport {
        candidates: candidates.len(),
        escalated: 0,
    };
    for chunk in candidates.chunks(SWEEP_CHUNK) {
        let crossed: Vec<(TicketId, Crossed)> = chunk
            .iter()
            .flat_map(|c| {
                escalation::crossed(&rules, c, now)
                    .into_iter()
                    .map(move |x| (c.ticket_id, x))
            })
            .collect();
        if crossed.is_empty() {
            continue;
        }
        let mut tx = store.write().await?;
        report.escalated += record(&mut tx, &crossed, now).await?;
        Store::commit(tx).await?;
    }
    let mut tx = store.write().await?;
    super::outbox::sla_alerts(&mut tx, now).await?;
    Store::commit(tx).await?;
    Ok(report)
}

/// Records the crossings no sweep recorded before, with their history, notes and
/// events; returns how many were new.
async fn record(
    tx: &mut fixpoint_store::Conn,
    crossed: &[(TicketId, Crossed)],
    now: Timestamp,
) -> ServiceResult<usize> {
    let recorded: HashSet<(TicketId, i64)> = rows::record_new(tx, crossed, now)
        .await?
        .into_iter()
        .collect();
    let new: Vec<&(TicketId, Crossed)> = crossed
        .iter()
        .filter(|(t, x)| recorded.contains(&(*t, x.rule_id)))
        .collect();
    // Read in this transaction: a change since the candidates were read moved it on.
    let ids: Vec<TicketId> = new.iter().map(|(t, _)| *t).collect();
    let versions: HashMap<TicketId, i64> = tickets::versions(tx, &ids).await?;
    let version = |ticket: TicketId| versions.get(&ticket).copied().unwrap_or(0);
    let changes: Vec<FieldChange> = new
        .iter()
        .map(|(_, x)| FieldChange {
            field: "escalation".into(),
            old: None,
            new: Some(format!("Escalation level {}: {}", x.level, x.reason)),
        })
        .collect();
    let history: Vec<(TicketId, i64, &FieldChange)> = new
        .iter()
        .zip(&changes)
        .map(|((t, _), change)| (*t, version(*t), change))
        .collect();
    tickets::write_history_rows(tx, &history, now, ACTOR).await?;
    let notes: Vec<Note> = new
        .iter()
        .map(|(t, x)| Note {
            id: Default::default(),
            ticket_id: *t,
            title: Some(format!("Escalation level {}", x.level)),
            body: x.reason.clone(),
            visibility: Visibility::Internal,
            kind: NoteKind::Note,
            author: ACTOR.into(),
            contact_id: None,
            created_at: now,
        })
        .collect();
    work::insert_notes(tx, &notes).await?;
    let events: Vec<serde_json::Value> = new
        .iter()
        .map(|(t, x)| json!({"ticket_id": t, "rule_id": x.rule_id, "level": x.level, "reason": x.reason, "at": now}))
        .collect();
    rows::enqueue_many(tx, "ticket.escalated", &events, now).await?;
    Ok(new.len())
}

pub async fn open_escalations(
    store: &Store,
    filter: &EscalationFilter,
) -> ServiceResult<Vec<EscalationEntry>> {
    let mut conn = store.read().await?;
    Ok(rows::open_escalations(&mut conn, filter).await?)
}

/// Runs the sweep every `interval` until the process ends, folds the report rollups
/// as often, and refreshes the query planner's statistics hourly.
pub fn spawn_sweeper(
    store: Store,
    clock: Clock,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_analyzed = std::time::Instant::now();
        loop {
            ticker.tick().await;
            if last_analyzed.elapsed() > Duration::from_secs(3600) {
                last_analyzed = std::time::Instant::now();
                if let Err(e) = store.analyze().await {
                    tracing::warn!(error = %e, "refreshing planner statistics failed");
                }
            }
            if let Err(e) = store.fold_rollups().await {
                tracing::warn!(error = %e, "folding the report rollups failed; retrying next tick");
            }
            match sweep(&store, clock.now()).await {
                Ok(r) if r.escalated > 0 => tracing::info!(
                    escalated = r.escalated,
                    candidates = r.candidates,
                    "escalation sweep"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "escalation sweep failed; retrying next tick"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sweeps_notes_are_system_notes() {
        assert!(super::ACTOR.starts_with(fixpoint_core::time_entry::SYSTEM_AUTHOR_PREFIX));
    }
}
