-- Escalation: rules as data, one row per ticket and rule when it fires (never twice),
-- and an outbox of events for webhooks to deliver.

CREATE TABLE escalation_rules (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL,
    -- sla_overdue | stale_waiting | critical_unassigned
    kind              TEXT    NOT NULL,
    level             INTEGER NOT NULL,
    threshold_minutes INTEGER NOT NULL,
    -- stale_waiting: the waiting status; critical_unassigned: the priority.
    status_id         INTEGER REFERENCES statuses(id),
    priority_id       INTEGER REFERENCES priorities(id),
    active            INTEGER NOT NULL
);

CREATE TABLE escalations (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    rule_id    INTEGER NOT NULL REFERENCES escalation_rules(id),
    level      INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (ticket_id, rule_id)
);
CREATE INDEX escalations_level ON escalations(level, created_at);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    topic        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX outbox_pending ON outbox(id) WHERE delivered_at IS NULL;

CREATE INDEX tickets_waiting_activity ON tickets(status_id, last_activity_at);
CREATE INDEX tickets_unassigned_priority ON tickets(priority_id, assigned_resource_id);
