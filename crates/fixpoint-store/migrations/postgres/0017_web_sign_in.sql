-- People sign in to the web UI: a technician (resource) with a password (an argon2
-- PHC string) and a role; without a password a resource cannot sign in.
ALTER TABLE resources ADD COLUMN password_hash TEXT;
ALTER TABLE resources ADD COLUMN role TEXT;

-- Signed-in sessions: the cookie's digest, the person, the form token that every
-- form posts back (CSRF), and when the session ends.
CREATE TABLE web_sessions (
    digest      TEXT    PRIMARY KEY,
    resource_id BIGINT  NOT NULL REFERENCES resources(id),
    csrf        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX web_sessions_expires_at ON web_sessions (expires_at);
