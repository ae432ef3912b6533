-- A queue's open tickets by due date (empty last) without reading the table: the
-- list walks (queue, each open status), keeps the best 50 by the sort expression,
-- and counts from the same entries. Replaces the plain (queue_id, due_at) index.
DROP INDEX tickets_queue_due;
CREATE INDEX tickets_queue_status_due ON tickets(queue_id, status_id, (COALESCE(due_at, 9223372036854775807)), id);
