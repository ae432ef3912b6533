-- Autotask's middle SLA milestone: a per-priority target for the resolution plan,
-- when the plan was given, and its deadline (indexed like the other two, so "what
-- falls due next" stays one range scan).
ALTER TABLE sla_targets ADD COLUMN resolution_plan_minutes BIGINT;
ALTER TABLE tickets ADD COLUMN resolution_plan_at BIGINT;
ALTER TABLE tickets ADD COLUMN resolution_plan_due_at BIGINT;
CREATE INDEX tickets_resolution_plan_due ON tickets(resolution_plan_due_at) WHERE resolution_plan_due_at IS NOT NULL AND resolution_plan_at IS NULL;
