//! The SLA clock: first-response and resolution targets per priority, counted in
//! business time on a calendar, paused while the ticket sits in a status whose clock
//! is paused or stopped.
//!
//! The clock is kept incrementally on the ticket: `paused_seconds` is the business
//! time the clock was not running up to `paused_since` (set while it is not running).
//! A deadline is `calendar.add(created_at, target + paused)`, so when the clock
//! resumes, deadlines move by exactly the paused business time.
//!
//! First response is met by the first external note on the ticket, or by its first
//! move out of New, whichever comes first. The resolution plan (Autotask's middle
//! milestone, for policies that set one) is met when a technician records the plan
//! (`resolution_plan_at`), or on resolution if none was recorded. Resolution is met on entering a resolved
//! or closed status; reopening restarts the resolution clock, and the time it spent
//! resolved counts as paused, so time already spent is not forgotten. A met clock's
//! deadline is frozen at the moment it was met. Changing the priority (or the policy)
//! recomputes the open deadlines from creation.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::catalog::SlaClock;
use crate::error::{DomainError, ErrorCode, Violations};
use crate::ids::{CalendarId, PriorityId, SlaPolicyId};
use crate::ticket::Ticket;

pub const AT_RISK_PERCENT_DEFAULT: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaTarget {
    pub priority_id: PriorityId,
    /// Minutes of business time to the first response; none: no response target.
    pub first_response_minutes: Option<i64>,
    /// Minutes of business time to a resolution plan (Autotask's middle milestone);
    /// none: no plan target.
    #[serde(default)]
    pub resolution_plan_minutes: Option<i64>,
    /// Minutes of business time to resolution; none: no resolution target.
    pub resolution_minutes: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaPolicy {
    pub id: SlaPolicyId,
    pub name: String,
    pub calendar_id: CalendarId,
    /// The policy for tickets that get none from themselves, their contract or queue.
    pub is_default: bool,
    /// A running clock with less than this share of its target left is at risk.
    pub at_risk_percent: i64,
    pub targets: Vec<SlaTarget>,
}

impl SlaPolicy {
    pub fn target(&self, priority: PriorityId) -> Option<&SlaTarget> {
        self.targets.iter().find(|t| t.priority_id == priority)
    }
}

/// A target is at least a minute and at most a year of business time.
pub const TARGET_MINUTES_MAX: i64 = 365 * 24 * 60;

/// Checks a policy an admin defines: its name, calendar, at-risk share and targets
/// (known priorities, one target each, 1 minute to a year).
pub fn check_policy(
    policy: &SlaPolicy,
    calendar_exists: bool,
    priorities: &[crate::catalog::Priority],
) -> Result<(), DomainError> {
    let mut v = Violations::default();
    v.required_text("name", &policy.name, crate::catalog::CATALOGUE_NAME_MAX);
    if !calendar_exists {
        v.push(
            "calendar_id",
            ErrorCode::UnknownReference,
            format!("calendar {} does not exist", policy.calendar_id),
        );
    }
    if !(0..=100).contains(&policy.at_risk_percent) {
        v.push(
            "at_risk_percent",
            ErrorCode::OutOfRange,
            "at_risk_percent is 0 to 100",
        );
    }
    for (i, t) in policy.targets.iter().enumerate() {
        if !priorities.iter().any(|p| p.id == t.priority_id) {
            v.push(
                format!("targets[{i}].priority_id"),
                ErrorCode::UnknownReference,
                format!("priority {} does not exist", t.priority_id),
            );
        }
        if policy.targets[..i]
            .iter()
            .any(|o| o.priority_id == t.priority_id)
        {
            v.push(
                format!("targets[{i}].priority_id"),
                ErrorCode::InvalidField,
                format!("priority {} has two targets", t.priority_id),
            );
        }
        if let (Some(plan), Some(resolution)) = (t.resolution_plan_minutes, t.resolution_minutes)
            && plan > resolution
        {
            v.push(
                format!("targets[{i}].resolution_plan_minutes"),
                ErrorCode::OutOfRange,
                format!("the plan is due before resolution ({resolution} minutes), not after"),
            );
        }
        for (field, minutes) in [
            ("first_response_minutes", t.first_response_minutes),
            ("resolution_plan_minutes", t.resolution_plan_minutes),
            ("resolution_minutes", t.resolution_minutes),
        ] {
            if minutes.is_some_and(|m| !(1..=TARGET_MINUTES_MAX).contains(&m)) {
                v.push(
                    format!("targets[{i}].{field}"),
                    ErrorCode::OutOfRange,
                    "a target is 1 minute to a year",
                );
            }
        }
    }
    v.into_result()
}

/// Which policy applies (seed 004's order, for the parts Fixpoint has): the ticket's
/// own, else its contract's, else its queue's, else its category's, else the default.
pub fn choose_policy(
    ticket: Option<SlaPolicyId>,
    contract: Option<SlaPolicyId>,
    queue: Option<SlaPolicyId>,
    category: Option<SlaPolicyId>,
    default: Option<SlaPolicyId>,
) -> Option<SlaPolicyId> {
    ticket.or(contract).or(queue).or(category).or(default)
}

/// The clock's bookkeeping, stored on the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockState {
    /// Business seconds the clock was paused or stopped, before `paused_since`.
    pub paused_seconds: i64,
    /// When the current pause began; none while the clock runs.
    pub paused_since: Option<Timestamp>,
    /// Business seconds the resolution clock ran until resolution; none while unresolved.
    pub resolution_business_seconds: Option<i64>,
    /// When the calendar first opens after creation: before it, the clock has not started.
    pub starts_at: Option<Timestamp>,
    /// When each running, unmet target enters its at-risk share; none otherwise.
    pub response_at_risk_at: Option<Timestamp>,
    pub resolution_at_risk_at: Option<Timestamp>,
}

/// What the clock needs to know: the policy and its calendar.
#[derive(Debug, Clone, Copy)]
pub struct SlaContext<'a> {
    pub policy: &'a SlaPolicy,
    pub calendar: &'a Calendar,
}

impl SlaContext<'_> {
    /// Business time the clock has not been running, as of `at`.
    fn paused_until(&self, state: &ClockState, at: Timestamp) -> SignedDuration {
        let current = state.paused_since.map_or(SignedDuration::ZERO, |since| {
            self.calendar.between(since, at)
        });
        SignedDuration::from_secs(state.paused_seconds) + current
    }

    /// The deadline of a target as of `at` (moves on while paused).
    fn due(
        &self,
        created: Timestamp,
        state: &ClockState,
        minutes: i64,
        at: Timestamp,
    ) -> Timestamp {
        self.calendar.add(
            created,
            SignedDuration::from_mins(minutes) + self.paused_until(state, at),
        )
    }
}

/// Brings the ticket's clock up to date after a create (`before = None`) or a change.
/// `from`/`to` are the SLA clock behaviours of the old and new status.
pub fn advance(
    ctx: Option<SlaContext<'_>>,
    before: Option<&Ticket>,
    from: Option<SlaClock>,
    after: &mut Ticket,
    to: SlaClock,
    now: Timestamp,
) {
    let Some(ctx) = ctx else {
        after.response_due_at = None;
        after.resolution_plan_due_at = None;
        after.resolution_due_at = None;
        after.sla_clock = ClockState::default();
        return;
    };
    let was_running = from.is_none_or(|c| c == SlaClock::Running);
    let is_running = to == SlaClock::Running;
    match (was_running, is_running) {
        (true, false) => after.sla_clock.paused_since = Some(now),
        (false, true) => {
            after.sla_clock.paused_seconds = ctx.paused_until(&after.sla_clock, now).as_secs();
            after.sla_clock.paused_since = None;
        }
        _ => {}
    }
    after.sla_clock.resolution_business_seconds = after.resolved_at.map(|met| {
        (ctx.calendar.between(after.created_at, met) - ctx.paused_until(&after.sla_clock, met))
            .as_secs()
    });
    let target = ctx.policy.target(after.priority_id);
    let retarget = before.is_none_or(|b| {
        b.priority_id != after.priority_id || b.sla_policy_id != after.sla_policy_id
    });

    let response = Deadline {
        minutes: target.and_then(|t| t.first_response_minutes),
        met: after.first_response_at,
        was_met: before.and_then(|b| b.first_response_at),
        stored: after.response_due_at,
    };
    let plan = Deadline {
        minutes: target.and_then(|t| t.resolution_plan_minutes),
        met: after.resolution_plan_at,
        was_met: before.and_then(|b| b.resolution_plan_at),
        stored: after.resolution_plan_due_at,
    };
    let resolution = Deadline {
        minutes: target.and_then(|t| t.resolution_minutes),
        met: after.resolved_at,
        was_met: before.and_then(|b| b.resolved_at),
        stored: after.resolution_due_at,
    };
    let created = after.created_at;
    let state = after.sla_clock;
    after.response_due_at = response.next(&ctx, created, &state, retarget, is_running, now);
    after.resolution_plan_due_at = plan.next(&ctx, created, &state, retarget, is_running, now);
    after.resolution_due_at = resolution.next(&ctx, created, &state, retarget, is_running, now);
    // Stored so lists can filter by at-risk and not-started without the calendar.
    after.sla_clock.starts_at = Some(ctx.calendar.next_opening(created));
    let at_risk = |d: &Deadline| {
        let minutes = d.minutes.filter(|_| d.met.is_none() && is_running)?;
        let safe = SignedDuration::from_secs(
            minutes * 60 * (100 - ctx.policy.at_risk_percent.clamp(0, 100)) / 100,
        );
        Some(
            ctx.calendar
                .add(created, safe + ctx.paused_until(&state, now)),
        )
    };
    after.sla_clock.response_at_risk_at = at_risk(&response);
    after.sla_clock.resolution_at_risk_at = at_risk(&resolution);
}

/// One target's deadline as a change leaves it.
struct Deadline {
    minutes: Option<i64>,
    met: Option<Timestamp>,
    was_met: Option<Timestamp>,
    stored: Option<Timestamp>,
}

impl Deadline {
    /// Frozen once met (recomputed only when first met or retargeted); running: the
    /// current deadline; paused: none.
    fn next(
        &self,
        ctx: &SlaContext<'_>,
        created: Timestamp,
        state: &ClockState,
        retarget: bool,
        running: bool,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let minutes = self.minutes?;
        match self.met {
            Some(met) if self.was_met.is_none() || retarget || self.stored.is_none() => {
                Some(ctx.due(created, state, minutes, met))
            }
            Some(_) => self.stored,
            None if running => Some(ctx.due(created, state, minutes, now)),
            None => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SlaState {
    /// Running, but no business time has passed yet and the desk is closed (opened out of hours).
    NotStarted,
    Running,
    Paused,
    /// Running with less than the policy's at-risk share of the target left.
    AtRisk,
    Met,
    Breached,
}

/// One clock (first response, resolution plan or resolution) as of now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockView {
    pub target_minutes: i64,
    /// When the target falls due; while paused, where it would fall if the clock resumed now.
    pub due_at: Timestamp,
    pub state: SlaState,
    pub met_at: Option<Timestamp>,
    /// Business time counted against the target.
    pub elapsed_seconds: i64,
    /// Business time left (negative once breached).
    pub remaining_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaView {
    pub policy_id: SlaPolicyId,
    pub policy_name: String,
    pub paused: bool,
    pub first_response: Option<ClockView>,
    /// Only for policies with a plan target (Autotask's resolution plan).
    pub resolution_plan: Option<ClockView>,
    pub resolution: Option<ClockView>,
    /// True when every target was met in time, false once any is breached, else none.
    pub sla_met: Option<bool>,
    /// While paused: business hours from now to the next unmet target
    /// (Autotask's serviceLevelAgreementPausedNextEventHours).
    pub paused_next_event_hours: Option<f64>,
}

pub fn view(ctx: SlaContext<'_>, ticket: &Ticket, now: Timestamp) -> SlaView {
    let target = ctx.policy.target(ticket.priority_id);
    let paused = ticket.sla_clock.paused_since.is_some();
    let clock = |minutes: Option<i64>, met_at: Option<Timestamp>, frozen: Option<Timestamp>| {
        let minutes = minutes?;
        let target = SignedDuration::from_mins(minutes);
        let (due_at, elapsed) = match (met_at, frozen) {
            (Some(met), Some(due)) => {
                let elapsed = if met <= due {
                    target - ctx.calendar.between(met, due)
                } else {
                    target + ctx.calendar.between(due, met)
                };
                (due, elapsed)
            }
            _ => {
                let at = met_at.unwrap_or(now);
                let due = ctx.due(ticket.created_at, &ticket.sla_clock, minutes, at);
                (
                    due,
                    ctx.calendar.between(ticket.created_at, at)
                        - ctx.paused_until(&ticket.sla_clock, at),
                )
            }
        };
        let remaining = target - elapsed;
        let state = match met_at {
            Some(_) if elapsed <= target => SlaState::Met,
            Some(_) => SlaState::Breached,
            None if remaining < SignedDuration::ZERO
                || (remaining == SignedDuration::ZERO && now >= due_at) =>
            {
                SlaState::Breached
            }
            None if paused => SlaState::Paused,
            None if elapsed == SignedDuration::ZERO && !ctx.calendar.is_open(now) => {
                SlaState::NotStarted
            }
            None if remaining.as_secs() * 100 < target.as_secs() * ctx.policy.at_risk_percent => {
                SlaState::AtRisk
            }
            None => SlaState::Running,
        };
        Some(ClockView {
            target_minutes: minutes,
            due_at,
            state,
            met_at,
            elapsed_seconds: elapsed.as_secs(),
            remaining_seconds: remaining.as_secs(),
        })
    };
    let first_response = clock(
        target.and_then(|t| t.first_response_minutes),
        ticket.first_response_at,
        ticket.response_due_at,
    );
    let resolution_plan = clock(
        target.and_then(|t| t.resolution_plan_minutes),
        ticket.resolution_plan_at,
        ticket.resolution_plan_due_at,
    );
    let resolution = clock(
        target.and_then(|t| t.resolution_minutes),
        ticket.resolved_at,
        ticket.resolution_due_at,
    );
    let clocks: Vec<&ClockView> = [&first_response, &resolution_plan, &resolution]
        .into_iter()
        .flatten()
        .collect();
    let sla_met = if clocks.iter().any(|c| c.state == SlaState::Breached) {
        Some(false)
    } else if !clocks.is_empty() && clocks.iter().all(|c| c.state == SlaState::Met) {
        Some(true)
    } else {
        None
    };
    let paused_next_event_hours = paused
        .then(|| {
            clocks
                .iter()
                .filter(|c| c.met_at.is_none())
                .map(|c| c.remaining_seconds)
                .min()
        })
        .flatten()
        .map(|secs| (secs as f64 / 3600.0 * 100.0).round() / 100.0);
    SlaView {
        policy_id: ctx.policy.id,
        policy_name: ctx.policy.name.clone(),
        paused,
        first_response,
        resolution_plan,
        resolution,
        sla_met,
        paused_next_event_hours,
    }
}

/// The three vendors' default targets from the seeds, by policy name.
pub fn vendor_defaults() -> Vec<(&'static str, Vec<SlaTarget>)> {
    use crate::catalog::seeded::{CRITICAL, HIGH, LOW, MEDIUM};
    // The seeds name no resolution-plan targets; an admin adds them to a policy.
    let t = |priority_id, response: Option<i64>, resolution: Option<i64>| SlaTarget {
        priority_id,
        first_response_minutes: response,
        resolution_plan_minutes: None,
        resolution_minutes: resolution,
    };
    let h = |hours: i64| Some(hours * 60);
    vec![
        (
            "Autotask standard",
            vec![
                t(CRITICAL, h(1), h(4)),
                t(HIGH, h(2), h(8)),
                t(MEDIUM, h(4), h(24)),
                t(LOW, h(8), h(72)),
            ],
        ),
        (
            "HaloPSA standard",
            vec![
                t(CRITICAL, Some(15), h(1)),
                t(HIGH, h(1), h(4)),
                t(MEDIUM, h(4), h(8)),
                t(LOW, h(8), h(24)),
            ],
        ),
        (
            "Atera standard",
            vec![
                t(CRITICAL, h(1), None),
                t(HIGH, h(4), None),
                t(MEDIUM, h(8), None),
                t(LOW, h(24), None),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Calendar, Holiday};
    use crate::catalog::{default_catalog, seeded};
    use crate::ticket::tests::sample;

    const NY: &str = "America/New_York";

    fn at(text: &str) -> Timestamp {
        text.parse::<jiff::civil::DateTime>()
            .unwrap()
            .in_tz(NY)
            .unwrap()
            .timestamp()
    }

    fn policy() -> SlaPolicy {
        let (name, targets) = vendor_defaults().remove(0);
        SlaPolicy {
            id: SlaPolicyId(1),
            name: name.into(),
            calendar_id: CalendarId(1),
            is_default: true,
            at_risk_percent: AT_RISK_PERCENT_DEFAULT,
            targets,
        }
    }

    fn calendar() -> Calendar {
        let holiday = Holiday {
            date: jiff::civil::date(2024, 2, 19),
            closed: None,
            name: "Presidents' Day".into(),
        };
        Calendar::weekdays(NY, "09:00", "17:00", vec![holiday]).unwrap()
    }

    #[test]
    fn policy_order_is_ticket_contract_queue_category_default() {
        let p = |n| Some(SlaPolicyId(n));
        assert_eq!(choose_policy(p(1), p(2), p(3), p(4), p(5)), p(1));
        assert_eq!(choose_policy(None, p(2), p(3), p(4), p(5)), p(2));
        assert_eq!(choose_policy(None, None, p(3), p(4), p(5)), p(3));
        assert_eq!(choose_policy(None, None, None, p(4), p(5)), p(4));
        assert_eq!(choose_policy(None, None, None, None, p(5)), p(5));
        assert_eq!(choose_policy(None, None, None, None, None), None);
    }

    #[test]
    fn a_resolution_plan_has_its_own_deadline_met_when_recorded() {
        let mut policy = policy();
        for t in &mut policy.targets {
            t.resolution_plan_minutes = t.resolution_minutes.map(|m| m / 2);
        }
        let cal = calendar();
        let context = SlaContext {
            policy: &policy,
            calendar: &cal,
        };
        let ctx = Some(context);
        let catalog = default_catalog();
        let mut t = sample(&catalog);
        t.created_at = at("2024-02-15T10:00"); // Thursday
        t.priority_id = seeded::HIGH; // 2h response, 4h plan, 8h resolution
        let created = t.created_at;
        advance(ctx, None, None, &mut t, SlaClock::Running, created);
        assert_eq!(t.resolution_plan_due_at, Some(at("2024-02-15T14:00")));
        let view_at = |t: &Ticket, now| view(context, t, now);
        let plan = view_at(&t, at("2024-02-15T13:30")).resolution_plan.unwrap();
        assert_eq!(plan.state, SlaState::AtRisk);

        // Recorded at 15:00: an hour late, and the deadline freezes.
        let before = t.clone();
        t.resolution_plan_at = Some(at("2024-02-15T15:00"));
        let now = at("2024-02-15T15:05");
        advance(
            ctx,
            Some(&before),
            Some(SlaClock::Running),
            &mut t,
            SlaClock::Running,
            now,
        );
        assert_eq!(t.resolution_plan_due_at, Some(at("2024-02-15T14:00")));
        let v = view_at(&t, now);
        let plan = v.resolution_plan.unwrap();
        assert_eq!(
            (plan.state, plan.remaining_seconds),
            (SlaState::Breached, -3600)
        );
        assert_eq!(v.sla_met, Some(false), "a late plan breaks the SLA");

        // A policy without plan targets shows no plan clock.
        let plain = super::tests::policy();
        let context = SlaContext {
            policy: &plain,
            calendar: &cal,
        };
        let ctx = Some(context);
        let mut t = sample(&catalog);
        t.created_at = created;
        advance(ctx, None, None, &mut t, SlaClock::Running, created);
        assert_eq!(t.resolution_plan_due_at, None);
        assert!(view(context, &t, created).resolution_plan.is_none());
    }

    #[test]
    fn a_paused_clock_moves_the_deadlines_by_the_paused_business_time() {
        let (policy, cal) = (policy(), calendar());
        let ctx = Some(SlaContext {
            policy: &policy,
            calendar: &cal,
        });
        let catalog = default_catalog();
        let mut t = sample(&catalog);
        t.created_at = at("2024-02-15T10:00"); // Thursday
        t.priority_id = seeded::MEDIUM; // 4h response, 24h resolution
        let created = t.created_at;
        advance(ctx, None, None, &mut t, SlaClock::Running, created);
        assert_eq!(t.response_due_at, Some(at("2024-02-15T14:00")));
        // 24 business hours: Thu 7h, Fri 8h, (Mon holiday), Tue 8h, Wed 1h.
        assert_eq!(t.resolution_due_at, Some(at("2024-02-21T10:00")));

        // Waiting on the customer from Thu 11:00 to Fri 11:00: 8 business hours paused.
        let before = t.clone();
        advance(
            ctx,
            Some(&before),
            Some(SlaClock::Running),
            &mut t,
            SlaClock::Paused,
            at("2024-02-15T11:00"),
        );
        assert_eq!(
            (t.response_due_at, t.resolution_due_at),
            (None, None),
            "no deadline runs while paused"
        );
        let v = view(
            SlaContext {
                policy: &policy,
                calendar: &cal,
            },
            &t,
            at("2024-02-16T09:30"),
        );
        assert!(v.paused);
        assert_eq!(v.resolution.as_ref().unwrap().state, SlaState::Paused);
        assert_eq!(
            v.paused_next_event_hours,
            Some(3.0),
            "response had 3 of its 4 hours left"
        );

        let before = t.clone();
        advance(
            ctx,
            Some(&before),
            Some(SlaClock::Paused),
            &mut t,
            SlaClock::Running,
            at("2024-02-16T11:00"),
        );
        assert_eq!(
            t.sla_clock,
            ClockState {
                paused_seconds: 8 * 3600,
                paused_since: None,
                resolution_business_seconds: None,
                ..t.sla_clock
            }
        );
        assert_eq!(t.response_due_at, Some(at("2024-02-16T14:00")));
        assert_eq!(t.resolution_due_at, Some(at("2024-02-22T10:00")));
    }

    #[test]
    fn states_through_a_life() {
        let (policy, cal) = (policy(), calendar());
        let ctx = SlaContext {
            policy: &policy,
            calendar: &cal,
        };
        let catalog = default_catalog();
        let mut t = sample(&catalog);
        t.created_at = at("2024-02-15T07:00"); // before opening
        t.priority_id = seeded::CRITICAL; // 1h / 4h
        let created = t.created_at;
        advance(Some(ctx), None, None, &mut t, SlaClock::Running, created);
        let v = view(ctx, &t, at("2024-02-15T08:00"));
        assert_eq!(
            v.first_response.as_ref().unwrap().state,
            SlaState::NotStarted
        );
        assert_eq!(
            view(ctx, &t, at("2024-02-15T09:30"))
                .first_response
                .unwrap()
                .state,
            SlaState::Running
        );
        assert_eq!(
            view(ctx, &t, at("2024-02-15T09:50"))
                .first_response
                .unwrap()
                .state,
            SlaState::AtRisk
        );
        let late = view(ctx, &t, at("2024-02-15T10:30"));
        assert_eq!(
            late.first_response.as_ref().unwrap().state,
            SlaState::Breached
        );
        assert_eq!(
            late.first_response.as_ref().unwrap().remaining_seconds,
            -1800
        );
        assert_eq!(late.sla_met, Some(false));

        // Responded at 09:40: met, and frozen.
        let before = t.clone();
        t.first_response_at = Some(at("2024-02-15T09:40"));
        advance(
            Some(ctx),
            Some(&before),
            Some(SlaClock::Running),
            &mut t,
            SlaClock::Running,
            at("2024-02-15T09:40"),
        );
        assert_eq!(t.response_due_at, Some(at("2024-02-15T10:00")));
        let v = view(ctx, &t, at("2024-02-20T10:00"));
        let response = v.first_response.unwrap();
        assert_eq!(
            (response.state, response.elapsed_seconds),
            (SlaState::Met, 40 * 60)
        );

        // Resolved at 12:30 (3.5h): met; overall met.
        let before = t.clone();
        t.resolved_at = Some(at("2024-02-15T12:30"));
        advance(
            Some(ctx),
            Some(&before),
            Some(SlaClock::Running),
            &mut t,
            SlaClock::Stopped,
            at("2024-02-15T12:30"),
        );
        let v = view(ctx, &t, at("2024-02-16T12:00"));
        assert_eq!(v.resolution.as_ref().unwrap().state, SlaState::Met);
        assert_eq!(v.sla_met, Some(true));

        // Reopened Friday 09:00: the stopped time counts as paused; 30 min were left.
        let before = t.clone();
        t.resolved_at = None;
        advance(
            Some(ctx),
            Some(&before),
            Some(SlaClock::Stopped),
            &mut t,
            SlaClock::Running,
            at("2024-02-16T09:00"),
        );
        assert_eq!(t.resolution_due_at, Some(at("2024-02-16T09:30")));
    }

    #[test]
    fn changing_priority_recomputes_from_creation() {
        let (policy, cal) = (policy(), calendar());
        let ctx = Some(SlaContext {
            policy: &policy,
            calendar: &cal,
        });
        let catalog = default_catalog();
        let mut t = sample(&catalog);
        t.created_at = at("2024-02-15T10:00");
        t.priority_id = seeded::LOW;
        let created = t.created_at;
        advance(ctx, None, None, &mut t, SlaClock::Running, created);
        assert_eq!(t.response_due_at, Some(at("2024-02-16T10:00")));
        let before = t.clone();
        t.priority_id = seeded::CRITICAL;
        advance(
            ctx,
            Some(&before),
            Some(SlaClock::Running),
            &mut t,
            SlaClock::Running,
            at("2024-02-15T10:30"),
        );
        assert_eq!(t.response_due_at, Some(at("2024-02-15T11:00")));
        assert_eq!(t.resolution_due_at, Some(at("2024-02-15T14:00")));
    }

    #[test]
    fn admin_defined_policies_are_checked() {
        let priorities = default_catalog().priorities;
        let mut p = policy();
        assert!(check_policy(&p, true, &priorities).is_ok());
        assert!(
            check_policy(&p, false, &priorities).is_err(),
            "unknown calendar"
        );
        p.at_risk_percent = 101;
        p.targets.push(SlaTarget {
            priority_id: seeded::LOW,
            first_response_minutes: Some(0),
            resolution_plan_minutes: Some(90),
            resolution_minutes: Some(60),
        });
        let DomainError::Invalid(v) = check_policy(&p, true, &priorities).unwrap_err() else {
            panic!()
        };
        let fields: Vec<&str> = v.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "at_risk_percent",
                "targets[4].priority_id",
                "targets[4].resolution_plan_minutes",
                "targets[4].first_response_minutes"
            ]
        );
    }

    #[test]
    fn atera_policy_has_no_resolution_clock() {
        let (name, targets) = vendor_defaults().remove(2);
        assert_eq!(name, "Atera standard");
        assert!(
            targets
                .iter()
                .all(|t| t.first_response_minutes.is_some() && t.resolution_minutes.is_none())
        );
    }
}
