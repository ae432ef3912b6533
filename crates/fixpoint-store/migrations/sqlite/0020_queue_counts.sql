-- How many tickets each queue holds in each status, for the counted queue page: without
-- it the count reads every one of a large queue's index entries (15,120 open tickets at
-- 1M, a few ms) where the page itself reads 50. Each row is a change (+n or -1) that a
-- trigger adds, so no write path can forget to, and the maintenance pass folds them into
-- one row per queue and status like the report rollups (fixpoint_store::reports).
CREATE TABLE ticket_queue_counts (
    id        INTEGER PRIMARY KEY,
    queue_id  BIGINT NOT NULL,
    status_id BIGINT NOT NULL,
    tickets   BIGINT NOT NULL
);
CREATE INDEX ticket_queue_counts_queue ON ticket_queue_counts (queue_id, status_id, tickets);
INSERT INTO ticket_queue_counts (queue_id, status_id, tickets)
SELECT queue_id, status_id, COUNT(*) FROM tickets WHERE queue_id IS NOT NULL GROUP BY queue_id, status_id;
CREATE TRIGGER tickets_queue_counts_insert AFTER INSERT ON tickets WHEN NEW.queue_id IS NOT NULL BEGIN
    INSERT INTO ticket_queue_counts (queue_id, status_id, tickets) VALUES (NEW.queue_id, NEW.status_id, 1);
END;
CREATE TRIGGER tickets_queue_counts_update AFTER UPDATE ON tickets WHEN OLD.queue_id IS NOT NEW.queue_id OR OLD.status_id IS NOT NEW.status_id BEGIN
    INSERT INTO ticket_queue_counts (queue_id, status_id, tickets) SELECT OLD.queue_id, OLD.status_id, -1 WHERE OLD.queue_id IS NOT NULL;
    INSERT INTO ticket_queue_counts (queue_id, status_id, tickets) SELECT NEW.queue_id, NEW.status_id, 1 WHERE NEW.queue_id IS NOT NULL;
END;
CREATE TRIGGER tickets_queue_counts_delete AFTER DELETE ON tickets WHEN OLD.queue_id IS NOT NULL BEGIN
    INSERT INTO ticket_queue_counts (queue_id, status_id, tickets) VALUES (OLD.queue_id, OLD.status_id, -1);
END;
