//! Escalation rules (seed 002): SLA overdue by 0–4 h is level 1, 4–8 h level 2,
//! beyond 8 h level 3; a ticket waiting on the customer with no activity for more
//! than 7 days; a Critical ticket with nobody assigned. Rules and thresholds are
//! data; this module decides which rules a ticket has crossed.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ids::{PriorityId, StatusId, TicketId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RuleKind {
    /// An unmet SLA target is overdue by at least the threshold (wall-clock time, as in the seed).
    SlaOverdue,
    /// The ticket has sat in `status_id` with no activity for longer than the threshold.
    StaleWaiting,
    /// A ticket of `priority_id` has had nobody assigned for at least the threshold.
    CriticalUnassigned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscalationRule {
    pub id: i64,
    pub name: String,
    pub kind: RuleKind,
    pub level: i64,
    pub threshold_minutes: i64,
    pub status_id: Option<StatusId>,
    pub priority_id: Option<PriorityId>,
    pub active: bool,
}

/// What the rules look at on one open ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub ticket_id: TicketId,
    pub version: i64,
    pub status_id: StatusId,
    pub priority_id: PriorityId,
    pub assigned: bool,
    pub created_at: Timestamp,
    pub last_activity_at: Timestamp,
    /// The earliest deadline of an unmet SLA target, if one has passed.
    pub overdue_since: Option<Timestamp>,
}

/// A rule a ticket has crossed, with the reason a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crossed {
    pub rule_id: i64,
    pub level: i64,
    pub reason: String,
}

pub fn crossed(rules: &[EscalationRule], c: &Candidate, now: Timestamp) -> Vec<Crossed> {
    let minutes_since = |t: Timestamp| now.duration_since(t).as_secs().div_euclid(60);
    rules
        .iter()
        .filter(|r| r.active)
        .filter_map(|r| {
            let reason = match r.kind {
                RuleKind::SlaOverdue => {
                    let since = c.overdue_since?;
                    let overdue = minutes_since(since);
                    (since < now && overdue >= r.threshold_minutes).then(|| {
                        format!("SLA violated by {} h {} min", overdue / 60, overdue % 60)
                    })?
                }
                RuleKind::StaleWaiting => {
                    let idle = minutes_since(c.last_activity_at);
                    (Some(c.status_id) == r.status_id && idle > r.threshold_minutes).then(|| {
                        format!(
                            "no customer response for {} days",
                            SignedDuration::from_mins(idle).as_hours() / 24
                        )
                    })?
                }
                RuleKind::CriticalUnassigned => (Some(c.priority_id) == r.priority_id
                    && !c.assigned
                    && minutes_since(c.created_at) >= r.threshold_minutes)
                    .then(|| "critical ticket without an assigned resource".to_owned())?,
            };
            Some(Crossed {
                rule_id: r.id,
                level: r.level,
                reason,
            })
        })
        .collect()
}

/// The seed's rules.
pub fn default_rules() -> Vec<EscalationRule> {
    use crate::catalog::seeded::{CRITICAL, WAITING_CUSTOMER};
    let rule =
        |id, name: &str, kind, level, threshold_minutes, status_id, priority_id| EscalationRule {
            id,
            name: name.to_owned(),
            kind,
            level,
            threshold_minutes,
            status_id,
            priority_id,
            active: true,
        };
    vec![
        rule(
            1,
            "SLA overdue: notify the assigned resource",
            RuleKind::SlaOverdue,
            1,
            0,
            None,
            None,
        ),
        rule(
            2,
            "SLA overdue 4 h: notify the team lead",
            RuleKind::SlaOverdue,
            2,
            4 * 60,
            None,
            None,
        ),
        rule(
            3,
            "SLA overdue 8 h: notify management",
            RuleKind::SlaOverdue,
            3,
            8 * 60,
            None,
            None,
        ),
        rule(
            4,
            "Waiting on the customer for over 7 days",
            RuleKind::StaleWaiting,
            1,
            7 * 24 * 60,
            Some(WAITING_CUSTOMER),
            None,
        ),
        rule(
            5,
            "Critical ticket with nobody assigned",
            RuleKind::CriticalUnassigned,
            1,
            0,
            None,
            Some(CRITICAL),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::seeded;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn candidate() -> Candidate {
        Candidate {
            ticket_id: TicketId(1),
            version: 1,
            status_id: seeded::IN_PROGRESS,
            priority_id: seeded::MEDIUM,
            assigned: true,
            created_at: t("2024-02-01T09:00:00Z"),
            last_activity_at: t("2024-02-01T09:00:00Z"),
            overdue_since: None,
        }
    }

    fn levels(c: &Candidate, now: &str) -> Vec<(i64, i64)> {
        crossed(&default_rules(), c, t(now))
            .into_iter()
            .map(|x| (x.rule_id, x.level))
            .collect()
    }

    #[test]
    fn overdue_levels_follow_the_seed() {
        let mut c = candidate();
        c.overdue_since = Some(t("2024-02-01T12:00:00Z"));
        assert_eq!(
            levels(&c, "2024-02-01T12:00:00Z"),
            [],
            "due now is not yet overdue"
        );
        assert_eq!(levels(&c, "2024-02-01T12:01:00Z"), [(1, 1)]);
        assert_eq!(levels(&c, "2024-02-01T15:59:00Z"), [(1, 1)]);
        assert_eq!(levels(&c, "2024-02-01T16:00:00Z"), [(1, 1), (2, 2)]);
        assert_eq!(levels(&c, "2024-02-01T20:00:00Z"), [(1, 1), (2, 2), (3, 3)]);
        let reason = &crossed(&default_rules(), &c, t("2024-02-01T21:30:00Z"))[2].reason;
        assert_eq!(reason, "SLA violated by 9 h 30 min");
    }

    #[test]
    fn stale_waiting_after_seven_days() {
        let mut c = candidate();
        c.status_id = seeded::WAITING_CUSTOMER;
        assert_eq!(
            levels(&c, "2024-02-08T09:00:00Z"),
            [],
            "exactly 7 days is not more than 7"
        );
        assert_eq!(levels(&c, "2024-02-08T09:01:00Z"), [(4, 1)]);
        c.status_id = seeded::WAITING_MATERIALS;
        assert_eq!(levels(&c, "2024-02-20T09:00:00Z"), []);
    }

    #[test]
    fn critical_without_anyone_assigned() {
        let mut c = candidate();
        c.priority_id = seeded::CRITICAL;
        assert_eq!(levels(&c, "2024-02-01T09:00:00Z"), []);
        c.assigned = false;
        assert_eq!(levels(&c, "2024-02-01T09:00:00Z"), [(5, 1)]);
    }

    #[test]
    fn inactive_rules_do_not_fire() {
        let mut rules = default_rules();
        rules.iter_mut().for_each(|r| r.active = false);
        let mut c = candidate();
        c.overdue_since = Some(t("2024-01-01T00:00:00Z"));
        assert!(crossed(&rules, &c, t("2024-02-01T00:00:00Z")).is_empty());
    }
}
