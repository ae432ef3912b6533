-- Indexes for the ticket report (PostgreSQL twin of the SQLite migration).
CREATE INDEX tickets_report ON tickets(
    status_id, priority_id, created_at, company_id, queue_id, assigned_resource_id,
    resolved_at, resolution_business_seconds, first_response_at, response_due_at, resolution_due_at
);
CREATE INDEX tickets_resolution_wall ON tickets((resolved_at - created_at)) WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_resolution_business ON tickets(resolution_business_seconds) WHERE resolution_business_seconds IS NOT NULL;
