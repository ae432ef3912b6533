-- How many tickets each queue holds in each status, for the counted queue page: without
-- it the count reads every one of a large queue's index entries (15,120 open tickets at
-- 1M, a few ms) where the page itself reads 50. Each row is a change (+n or -1) that a
-- trigger adds, so no write path can forget to, and the maintenance pass folds them into
-- one row per queue and status like the report rollups (fixpoint_store::reports).
CREATE TABLE ticket_queue_counts (
    id        BIGSERIAL PRIMARY KEY,
    queue_id  BIGINT NOT NULL,
    status_id BIGINT NOT NULL,
    tickets   BIGINT NOT NULL
);
CREATE INDEX ticket_queue_counts_queue ON ticket_queue_counts (queue_id, status_id, tickets);
INSERT INTO ticket_queue_counts (queue_id, status_id, tickets)
SELECT queue_id, status_id, COUNT(*) FROM tickets WHERE queue_id IS NOT NULL GROUP BY queue_id, status_id;
-- Creates arrive many to a statement: one change row per queue and status they land in.
CREATE FUNCTION fixpoint_queue_counts_inserted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_queue_counts (queue_id, status_id, tickets)
    SELECT queue_id, status_id, COUNT(*) FROM inserted WHERE queue_id IS NOT NULL GROUP BY queue_id, status_id;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_queue_counts_insert AFTER INSERT ON tickets REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_queue_counts_inserted();
CREATE FUNCTION fixpoint_queue_counts_changed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.queue_id IS NOT NULL THEN
        INSERT INTO ticket_queue_counts (queue_id, status_id, tickets) VALUES (OLD.queue_id, OLD.status_id, -1);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.queue_id IS NOT NULL THEN
            INSERT INTO ticket_queue_counts (queue_id, status_id, tickets) VALUES (NEW.queue_id, NEW.status_id, 1);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_queue_counts_delete AFTER DELETE ON tickets FOR EACH ROW EXECUTE FUNCTION fixpoint_queue_counts_changed();
CREATE TRIGGER tickets_queue_counts_update AFTER UPDATE ON tickets FOR EACH ROW WHEN (OLD.queue_id IS DISTINCT FROM NEW.queue_id OR OLD.status_id IS DISTINCT FROM NEW.status_id) EXECUTE FUNCTION fixpoint_queue_counts_changed();
