-- Fixpoint schema, version 1. Instants are i64 microseconds since the Unix epoch (UTC);
-- durations are integer minutes. Catalogue rows are seeded by the application from
-- fixpoint_core::catalog::default_catalog() so both backends get the same data.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE statuses (
    id                         INTEGER PRIMARY KEY,
    name                       TEXT    NOT NULL UNIQUE,
    category                   TEXT    NOT NULL,
    sla_clock                  TEXT    NOT NULL,
    requires_resolution        INTEGER NOT NULL,
    requires_escalation_reason INTEGER NOT NULL,
    active                     INTEGER NOT NULL,
    sort_order                 INTEGER NOT NULL
);

CREATE TABLE status_transitions (
    from_status_id INTEGER NOT NULL REFERENCES statuses(id),
    to_status_id   INTEGER NOT NULL REFERENCES statuses(id),
    PRIMARY KEY (from_status_id, to_status_id)
);

CREATE TABLE priorities (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    urgency_rank INTEGER NOT NULL,
    active       INTEGER NOT NULL
);

CREATE TABLE ticket_types (
    id     INTEGER PRIMARY KEY,
    name   TEXT    NOT NULL UNIQUE,
    kind   TEXT    NOT NULL,
    active INTEGER NOT NULL
);

CREATE TABLE issue_types (
    id        INTEGER PRIMARY KEY,
    name      TEXT    NOT NULL,
    parent_id INTEGER REFERENCES issue_types(id),
    active    INTEGER NOT NULL
);

CREATE TABLE companies (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL,
    parent_company_id INTEGER REFERENCES companies(id),
    phone             TEXT,
    website           TEXT,
    active            INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX companies_parent ON companies(parent_company_id);

CREATE TABLE company_locations (
    id         INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    name       TEXT    NOT NULL,
    address    TEXT,
    active     INTEGER NOT NULL
);
CREATE INDEX company_locations_company ON company_locations(company_id);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    first_name TEXT    NOT NULL,
    last_name  TEXT    NOT NULL,
    email      TEXT,
    phone      TEXT,
    active     INTEGER NOT NULL
);
CREATE INDEX contacts_company ON contacts(company_id);
CREATE INDEX contacts_email ON contacts(lower(email));

CREATE TABLE resources (
    id         INTEGER PRIMARY KEY,
    first_name TEXT    NOT NULL,
    last_name  TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    active     INTEGER NOT NULL
);

CREATE TABLE roles (
    id     INTEGER PRIMARY KEY,
    name   TEXT    NOT NULL,
    active INTEGER NOT NULL
);

CREATE TABLE queues (
    id     INTEGER PRIMARY KEY,
    name   TEXT    NOT NULL,
    active INTEGER NOT NULL
);

CREATE TABLE contracts (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL REFERENCES companies(id),
    name          TEXT    NOT NULL,
    sla_policy_id INTEGER,
    active        INTEGER NOT NULL
);
CREATE INDEX contracts_company ON contracts(company_id);

-- One row per UTC day: the last ticket sequence number handed out that day.
CREATE TABLE ticket_number_sequences (
    day  TEXT    PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE tickets (
    id                   INTEGER PRIMARY KEY,
    number               TEXT    NOT NULL UNIQUE,
    title                TEXT    NOT NULL,
    description          TEXT,
    company_id           INTEGER NOT NULL REFERENCES companies(id),
    location_id          INTEGER REFERENCES company_locations(id),
    contact_id           INTEGER REFERENCES contacts(id),
    status_id            INTEGER NOT NULL REFERENCES statuses(id),
    priority_id          INTEGER NOT NULL REFERENCES priorities(id),
    type_id              INTEGER NOT NULL REFERENCES ticket_types(id),
    queue_id             INTEGER REFERENCES queues(id),
    issue_type_id        INTEGER REFERENCES issue_types(id),
    sub_issue_type_id    INTEGER REFERENCES issue_types(id),
    category_1           TEXT,
    category_2           TEXT,
    category_3           TEXT,
    category_4           TEXT,
    source               TEXT    NOT NULL,
    assigned_resource_id INTEGER REFERENCES resources(id),
    assigned_role_id     INTEGER REFERENCES roles(id),
    contract_id          INTEGER REFERENCES contracts(id),
    due_at               INTEGER,
    estimated_minutes    INTEGER,
    resolution           TEXT,
    escalation_reason    TEXT,
    problem_ticket_id    INTEGER REFERENCES tickets(id),
    custom_fields        TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    first_response_at    INTEGER,
    resolved_at          INTEGER,
    completed_at         INTEGER,
    last_activity_at     INTEGER NOT NULL,
    version              INTEGER NOT NULL
);
CREATE INDEX tickets_status_created ON tickets(status_id, created_at);
CREATE INDEX tickets_company_created ON tickets(company_id, created_at);
CREATE INDEX tickets_queue_due ON tickets(queue_id, due_at);
CREATE INDEX tickets_assigned ON tickets(assigned_resource_id, created_at);
CREATE INDEX tickets_created ON tickets(created_at);
CREATE INDEX tickets_updated ON tickets(updated_at);
CREATE INDEX tickets_problem ON tickets(problem_ticket_id);

CREATE TABLE ticket_secondary_resources (
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    resource_id INTEGER NOT NULL REFERENCES resources(id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, resource_id)
);

CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    title      TEXT,
    body       TEXT    NOT NULL,
    visibility TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX notes_ticket ON notes(ticket_id, id);

CREATE TABLE time_entries (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    resource_id INTEGER NOT NULL REFERENCES resources(id),
    started_at  INTEGER,
    ended_at    INTEGER,
    minutes     INTEGER NOT NULL,
    billable    INTEGER NOT NULL,
    notes       TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX time_entries_ticket ON time_entries(ticket_id, id);

CREATE TABLE ticket_history (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    version   INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    field     TEXT    NOT NULL,
    old_value TEXT,
    new_value TEXT
);
CREATE INDEX ticket_history_ticket ON ticket_history(ticket_id, id);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    -- SHA-256 of the key, hex. The key itself is shown once and never stored.
    digest     TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE idempotency_keys (
    api_key_id      INTEGER NOT NULL REFERENCES api_keys(id),
    key             TEXT    NOT NULL,
    request_digest  TEXT    NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (api_key_id, key)
);
