-- Instants that let lists filter by SLA state without each ticket's calendar: when the
-- calendar first opens after creation, and when each running target turns at-risk.
ALTER TABLE tickets ADD COLUMN sla_starts_at INTEGER;
ALTER TABLE tickets ADD COLUMN response_at_risk_at INTEGER;
ALTER TABLE tickets ADD COLUMN resolution_at_risk_at INTEGER;
