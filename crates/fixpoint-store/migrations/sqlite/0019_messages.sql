-- Email in and out, and webhooks. Every outbound message and delivery is a row that a
-- worker on any server claims with a lease (next_attempt_at moves past the send's
-- timeout), so N servers on one database never send one twice at once.

CREATE TABLE webhooks (
    id                   INTEGER PRIMARY KEY,
    url                  TEXT    NOT NULL,
    -- The signing key: kept readable, because every delivery is signed with it.
    secret               TEXT    NOT NULL,
    -- Event types, comma-separated.
    events               TEXT    NOT NULL,
    description          TEXT,
    active               INTEGER NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    disabled_reason      TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    -- pending | delivered | failed
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

CREATE TABLE mail_messages (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER NOT NULL REFERENCES tickets(id),
    -- acknowledgment | public_note | resolution | escalation
    kind            TEXT    NOT NULL,
    recipients      TEXT    NOT NULL,
    cc              TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    message_id      TEXT    NOT NULL UNIQUE,
    in_reply_to     TEXT,
    refs            TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    -- pending | sent | failed
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX mail_messages_due ON mail_messages (next_attempt_at) WHERE state = 'pending';
CREATE INDEX mail_messages_ticket ON mail_messages (ticket_id, id);

-- Every message received, once per Message-ID: what became of it, and the raw message
-- when it was quarantined.
CREATE TABLE inbound_messages (
    id          INTEGER PRIMARY KEY,
    message_id  TEXT    NOT NULL UNIQUE,
    sender      TEXT,
    subject     TEXT,
    -- created | appended | ignored | quarantined
    outcome     TEXT    NOT NULL,
    reason      TEXT,
    ticket_id   INTEGER REFERENCES tickets(id),
    note_id     INTEGER REFERENCES notes(id),
    size        INTEGER NOT NULL,
    raw         BLOB,
    received_at INTEGER NOT NULL
);
CREATE INDEX inbound_messages_ticket ON inbound_messages (ticket_id);
CREATE INDEX inbound_messages_outcome ON inbound_messages (outcome, id);

-- An admin's version of a message template, per language (a tag such as "de"); the
-- built-in English one answers otherwise.
CREATE TABLE mail_templates (
    name       TEXT    NOT NULL,
    language   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body_text  TEXT    NOT NULL,
    body_html  TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (name, language)
);

-- Who hears of an escalation at a rule's level: email addresses, comma-separated.
ALTER TABLE escalation_rules ADD COLUMN notify TEXT NOT NULL DEFAULT '';

-- An SLA target turning at risk or breached, once per ticket, target and deadline
-- (a deadline moved by a new priority may warn again); the sweep writes the event.
CREATE TABLE sla_alerts (
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    -- response | resolution
    target     TEXT    NOT NULL,
    -- at_risk | breached
    kind       TEXT    NOT NULL,
    due_at     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, target, kind, due_at)
);
CREATE INDEX tickets_response_at_risk ON tickets(response_at_risk_at) WHERE response_at_risk_at IS NOT NULL AND first_response_at IS NULL;
CREATE INDEX tickets_resolution_at_risk ON tickets(resolution_at_risk_at) WHERE resolution_at_risk_at IS NOT NULL AND resolved_at IS NULL;

-- The language a contact reads mail in (`de`, `pt-BR`); English when unknown.
ALTER TABLE contacts ADD COLUMN language TEXT;
