-- Autotask's three-header credentials: an API user is an API key that also has a
-- username and an integration code (the secret is the key, stored as its digest).
ALTER TABLE api_keys ADD COLUMN username TEXT;
ALTER TABLE api_keys ADD COLUMN integration_code TEXT;
CREATE UNIQUE INDEX api_keys_username ON api_keys (username);

-- How a dialect numbers Fixpoint's catalogue values (Autotask: status 5 = Complete,
-- priority 4 = Critical). One code per value each way; seeded at start
-- (fixpoint_store::dialects::seed_defaults), an admin can remap.
CREATE TABLE dialect_codes (
    dialect   TEXT   NOT NULL,
    kind      TEXT   NOT NULL,
    code      BIGINT NOT NULL,
    target_id BIGINT NOT NULL,
    PRIMARY KEY (dialect, kind, code),
    UNIQUE (dialect, kind, target_id)
);
