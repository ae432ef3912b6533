-- A token that changes with every change to the catalogue and the SLA set-up, so that
-- each server can keep them in memory and still see another server's admin edits: a
-- write reads the token (one row) and reloads only when it moved. Triggers change it,
-- so no write path can forget to. Random, not a counter: a rolled-back change's token
-- is never reused by another change.
CREATE TABLE reference_version (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    token BIGINT  NOT NULL
);
INSERT INTO reference_version (id, token) VALUES (1, 0);
CREATE FUNCTION fixpoint_reference_changed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reference_version SET token = (random() * 9.2e18)::BIGINT WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER statuses_reference AFTER INSERT OR UPDATE OR DELETE ON statuses FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_reference_changed();
CREATE TRIGGER status_transitions_reference AFTER INSERT OR UPDATE OR DELETE ON status_transitions FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_reference_changed();
CREATE TRIGGER priorities_reference AFTER INSERT OR UPDATE OR DELETE ON priorities FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_reference_changed();
CREATE TRIGGER ticket_types_reference AFTER INSERT OR UPDATE OR DELETE ON ticket_types FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_reference_changed();
CREATE TRIGGER settings_reference AFTER INSERT OR UPDATE OR DELETE ON settings FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_reference_changed();
CREATE TRIGGER calendars_reference AFTER INSERT OR UPDATE OR DELETE ON calendars FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_reference_changed();
CREATE TRIGGER sla_policies_reference AFTER INSERT OR UPDATE OR DELETE ON sla_policies FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_reference_changed();
CREATE TRIGGER sla_targets_reference AFTER INSERT OR UPDATE OR DELETE ON sla_targets FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_reference_changed();
