-- How each vendor dialect names Fixpoint's statuses. Reading, every status maps to
-- one vendor name; writing a vendor name picks the one status marked as its target.
-- Seeded at start (fixpoint_store::dialects::seed_defaults) from the statuses'
-- categories; an admin can remap.
CREATE TABLE dialect_statuses (
    dialect     TEXT    NOT NULL,
    status_id   BIGINT  NOT NULL REFERENCES statuses(id),
    vendor_name TEXT    NOT NULL,
    write_target BOOLEAN NOT NULL,
    PRIMARY KEY (dialect, status_id)
);
