//! The escalation sweep: runs on a timer on every server; the database makes each
//! escalation happen once per ticket and rule, however many sweeps overlap.

use std::time::Duration;

use fixpoint_core::escalation;
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

/// Records every rule each open ticket has crossed by `now` and not yet recorded: a
/// history entry, an internal note, and an outbox event, in one transaction.
pub async fn sweep(store: &Store, now: Timestamp) -> ServiceResult<SweepReport> {
    let mut tx = store.write().await?;
    let rules = rows::rules(&mut tx).await?;
    let candidates = rows::candidates(&mut tx, &rules, now).await?;
    let mut report = SweepReport {
        candidates: candidates.len(),
        escalated: 0,
    };
    for candidate in &candidates {
        for crossed in escalation::crossed(&rules, candidate, now) {
            if !rows::record(&mut tx, candidate.ticket_id, &crossed, now).await? {
                continue;
            }
            report.escalated += 1;
            let headline = format!("Escalation level {}: {}", crossed.level, crossed.reason);
            let change = FieldChange {
                field: "escalation".into(),
                old: None,
                new: Some(headline.clone()),
            };
            tickets::write_history(
                &mut tx,
                candidate.ticket_id,
                candidate.version,
                now,
                ACTOR,
                &[change],
            )
            .await?;
            let note = Note {
                id: Default::default(),
                ticket_id: candidate.ticket_id,
                title: Some(format!("Escalation level {}", crossed.level)),
                body: crossed.reason.clone(),
                visibility: Visibility::Internal,
                kind: NoteKind::Note,
                author: ACTOR.into(),
                created_at: now,
            };
            work::insert_note(&mut tx, &note).await?;
            let event = json!({
                "ticket_id": candidate.ticket_id,
                "rule_id": crossed.rule_id,
                "level": crossed.level,
                "reason": crossed.reason,
                "at": now,
            });
            rows::enqueue(&mut tx, "ticket.escalated", &event, now).await?;
        }
    }
    Store::commit(tx).await?;
    Ok(report)
}

pub async fn open_escalations(
    store: &Store,
    filter: &EscalationFilter,
) -> ServiceResult<Vec<EscalationEntry>> {
    let mut conn = store.read().await?;
    Ok(rows::open_escalations(&mut conn, filter).await?)
}

/// Runs the sweep every `interval` until the process ends.
pub fn spawn_sweeper(
    store: Store,
    clock: Clock,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
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
