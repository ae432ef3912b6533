-- The queue index also carries due_at itself: PostgreSQL answers from the index alone
-- only when every column the query names is in it, and the sort expression names
-- due_at (it read the table for every open ticket of the queue without it).
DROP INDEX tickets_queue_status_due;
CREATE INDEX tickets_queue_status_due_at ON tickets(queue_id, status_id, (COALESCE(due_at, 9223372036854775807)), id, due_at);
