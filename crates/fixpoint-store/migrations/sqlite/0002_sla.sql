-- SLA: business calendars, policies with per-priority targets, and the clock's
-- bookkeeping and deadlines on each ticket. Seeded by the application.

CREATE TABLE calendars (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE,
    -- fixpoint_core::calendar::CalendarSpec as JSON: time zone, weekly openings, holidays.
    spec TEXT    NOT NULL
);

CREATE TABLE sla_policies (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    calendar_id     INTEGER NOT NULL REFERENCES calendars(id),
    is_default      INTEGER NOT NULL,
    at_risk_percent INTEGER NOT NULL
);

CREATE TABLE sla_targets (
    policy_id              INTEGER NOT NULL REFERENCES sla_policies(id),
    priority_id            INTEGER NOT NULL REFERENCES priorities(id),
    first_response_minutes INTEGER,
    resolution_minutes     INTEGER,
    PRIMARY KEY (policy_id, priority_id)
);

ALTER TABLE queues ADD COLUMN sla_policy_id INTEGER REFERENCES sla_policies(id);

ALTER TABLE tickets ADD COLUMN sla_policy_id INTEGER REFERENCES sla_policies(id);
ALTER TABLE tickets ADD COLUMN sla_paused_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN sla_paused_since INTEGER;
ALTER TABLE tickets ADD COLUMN response_due_at INTEGER;
ALTER TABLE tickets ADD COLUMN resolution_due_at INTEGER;
-- Business seconds the resolution clock ran until the ticket was resolved (for reports).
ALTER TABLE tickets ADD COLUMN resolution_business_seconds INTEGER;

-- "What breaches next" is one range scan over running, unmet clocks.
CREATE INDEX tickets_response_due ON tickets(response_due_at) WHERE response_due_at IS NOT NULL AND first_response_at IS NULL;
CREATE INDEX tickets_resolution_due ON tickets(resolution_due_at) WHERE resolution_due_at IS NOT NULL AND resolved_at IS NULL;
