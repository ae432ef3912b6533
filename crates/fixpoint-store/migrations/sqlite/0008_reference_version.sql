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
CREATE TRIGGER statuses_insert_reference AFTER INSERT ON statuses BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER statuses_update_reference AFTER UPDATE ON statuses BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER statuses_delete_reference AFTER DELETE ON statuses BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER status_transitions_insert_reference AFTER INSERT ON status_transitions BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER status_transitions_update_reference AFTER UPDATE ON status_transitions BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER status_transitions_delete_reference AFTER DELETE ON status_transitions BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER priorities_insert_reference AFTER INSERT ON priorities BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER priorities_update_reference AFTER UPDATE ON priorities BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER priorities_delete_reference AFTER DELETE ON priorities BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER ticket_types_insert_reference AFTER INSERT ON ticket_types BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER ticket_types_update_reference AFTER UPDATE ON ticket_types BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER ticket_types_delete_reference AFTER DELETE ON ticket_types BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER settings_insert_reference AFTER INSERT ON settings BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER settings_update_reference AFTER UPDATE ON settings BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER settings_delete_reference AFTER DELETE ON settings BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER calendars_insert_reference AFTER INSERT ON calendars BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER calendars_update_reference AFTER UPDATE ON calendars BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER calendars_delete_reference AFTER DELETE ON calendars BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER sla_policies_insert_reference AFTER INSERT ON sla_policies BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER sla_policies_update_reference AFTER UPDATE ON sla_policies BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER sla_policies_delete_reference AFTER DELETE ON sla_policies BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER sla_targets_insert_reference AFTER INSERT ON sla_targets BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER sla_targets_update_reference AFTER UPDATE ON sla_targets BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER sla_targets_delete_reference AFTER DELETE ON sla_targets BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
