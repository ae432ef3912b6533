-- HaloPSA's OAuth2 client credentials: an API client is an API key that also has a
-- public client id (the secret is the key, stored as its digest) and may act as an
-- agent. Its bearer tokens are stored as digests with their expiry, so that every
-- server behind a load balancer accepts them.
ALTER TABLE api_keys ADD COLUMN client_id TEXT;
ALTER TABLE api_keys ADD COLUMN resource_id INTEGER REFERENCES resources(id);
CREATE UNIQUE INDEX api_keys_client_id ON api_keys (client_id);

CREATE TABLE access_tokens (
    digest     TEXT    PRIMARY KEY,
    api_key_id INTEGER NOT NULL REFERENCES api_keys(id),
    expires_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

-- Files on a ticket, kept in the database so that a backup or a move to PostgreSQL
-- carries them; the size limit is the core's.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id),
    note_id      INTEGER REFERENCES notes(id),
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    content      BLOB    NOT NULL,
    author       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_ticket ON attachments (ticket_id, id);

-- Time logged with a note (a HaloPSA action carries both).
ALTER TABLE time_entries ADD COLUMN note_id INTEGER REFERENCES notes(id);
CREATE INDEX time_entries_note ON time_entries (note_id);
