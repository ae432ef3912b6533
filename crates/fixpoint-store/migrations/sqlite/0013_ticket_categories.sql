-- Ticket categories (Autotask's ticketCategory): templates for new tickets, with the
-- defaults they fill in and the queue they may require. Cached with the catalogue, so
-- edits move the reference token like the other catalogue tables (0008).
CREATE TABLE ticket_categories (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE,
    active              INTEGER NOT NULL,
    is_default          INTEGER NOT NULL,
    queue_requirement   TEXT    NOT NULL,
    default_priority_id INTEGER REFERENCES priorities(id),
    default_type_id     INTEGER REFERENCES ticket_types(id),
    default_queue_id    INTEGER REFERENCES queues(id),
    sla_policy_id       INTEGER REFERENCES sla_policies(id),
    due_in_days         INTEGER,
    due_time            TEXT
);
-- Seeded here rather than with the catalogue so that upgraded databases get it too.
INSERT INTO ticket_categories (name, active, is_default, queue_requirement)
VALUES ('Standard', 1, 1, 'never');
ALTER TABLE tickets ADD COLUMN ticket_category_id INTEGER REFERENCES ticket_categories(id);
CREATE TRIGGER ticket_categories_insert_reference AFTER INSERT ON ticket_categories BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER ticket_categories_update_reference AFTER UPDATE ON ticket_categories BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
CREATE TRIGGER ticket_categories_delete_reference AFTER DELETE ON ticket_categories BEGIN UPDATE reference_version SET token = random() WHERE id = 1; END;
