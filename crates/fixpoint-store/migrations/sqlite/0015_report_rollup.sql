-- The report over all tickets reads these instead of every ticket (issue 3: 1M tickets
-- in under 200 ms). Each row is a change to the sums of one UTC day of creation (the day
-- is floor(created_at / one day)), status and priority; triggers add them, so no write
-- path can forget to, and the maintenance pass folds them into one row per key
-- (fixpoint_store::reports::fold_rollups). Met counts are those settled for good: a
-- deadline still ahead is judged at report time from the partial deadline indexes.
CREATE TABLE ticket_rollup (
    id                 INTEGER PRIMARY KEY,
    day                BIGINT NOT NULL,
    status_id          BIGINT NOT NULL,
    priority_id        BIGINT NOT NULL,
    tickets            BIGINT NOT NULL,
    resolved           BIGINT NOT NULL,
    wall_micros        DOUBLE PRECISION NOT NULL,
    business_seconds   BIGINT NOT NULL,
    business_count     BIGINT NOT NULL,
    response_counted   BIGINT NOT NULL,
    response_met       BIGINT NOT NULL,
    resolution_counted BIGINT NOT NULL,
    resolution_met     BIGINT NOT NULL
);
CREATE INDEX ticket_rollup_day ON ticket_rollup(day);
-- Billable time by the day its ticket was created (a report scopes time by its tickets).
CREATE TABLE time_rollup (
    id                   INTEGER PRIMARY KEY,
    day                  BIGINT NOT NULL,
    billable_minutes     BIGINT NOT NULL,
    non_billable_minutes BIGINT NOT NULL
);
CREATE INDEX time_rollup_day ON time_rollup(day);
INSERT INTO ticket_rollup (day, status_id, priority_id, tickets, resolved, wall_micros, business_seconds, business_count, response_counted, response_met, resolution_counted, resolution_met)
SELECT CASE WHEN t.created_at >= 0 THEN t.created_at / 86400000000 ELSE (t.created_at + 1) / 86400000000 - 1 END, t.status_id, t.priority_id, COUNT(*), COUNT(t.resolved_at),
       COALESCE(SUM(CAST(t.resolved_at - t.created_at AS DOUBLE PRECISION)), 0), COALESCE(SUM(t.resolution_business_seconds), 0),
       COUNT(t.resolution_business_seconds), COUNT(t.response_due_at),
       SUM(CASE WHEN t.first_response_at <= t.response_due_at THEN 1 ELSE 0 END), COUNT(t.resolution_due_at),
       SUM(CASE WHEN t.resolved_at <= t.resolution_due_at THEN 1 ELSE 0 END)
FROM tickets t GROUP BY 1, 2, 3;
INSERT INTO time_rollup (day, billable_minutes, non_billable_minutes)
SELECT CASE WHEN t.created_at >= 0 THEN t.created_at / 86400000000 ELSE (t.created_at + 1) / 86400000000 - 1 END, COALESCE(SUM(CASE WHEN te.billable <> 0 THEN te.minutes ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN te.billable <> 0 THEN 0 ELSE te.minutes END), 0)
FROM time_entries te JOIN tickets t ON t.id = te.ticket_id GROUP BY 1;
CREATE TRIGGER tickets_rollup_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_rollup (day, status_id, priority_id, tickets, resolved, wall_micros, business_seconds, business_count, response_counted, response_met, resolution_counted, resolution_met) VALUES (CASE WHEN NEW.created_at >= 0 THEN NEW.created_at / 86400000000 ELSE (NEW.created_at + 1) / 86400000000 - 1 END, NEW.status_id, NEW.priority_id, 1, (CASE WHEN NEW.resolved_at IS NULL THEN 0 ELSE 1 END), COALESCE(CAST(NEW.resolved_at - NEW.created_at AS DOUBLE PRECISION), 0), COALESCE(NEW.resolution_business_seconds, 0), (CASE WHEN NEW.resolution_business_seconds IS NULL THEN 0 ELSE 1 END), (CASE WHEN NEW.response_due_at IS NULL THEN 0 ELSE 1 END), (CASE WHEN NEW.first_response_at <= NEW.response_due_at THEN 1 ELSE 0 END), (CASE WHEN NEW.resolution_due_at IS NULL THEN 0 ELSE 1 END), (CASE WHEN NEW.resolved_at <= NEW.resolution_due_at THEN 1 ELSE 0 END));
END;
CREATE TRIGGER tickets_rollup_update AFTER UPDATE ON tickets WHEN OLD.status_id IS NOT NEW.status_id OR OLD.priority_id IS NOT NEW.priority_id OR OLD.created_at IS NOT NEW.created_at OR OLD.resolved_at IS NOT NEW.resolved_at OR OLD.resolution_business_seconds IS NOT NEW.resolution_business_seconds OR OLD.response_due_at IS NOT NEW.response_due_at OR OLD.first_response_at IS NOT NEW.first_response_at OR OLD.resolution_due_at IS NOT NEW.resolution_due_at BEGIN
    INSERT INTO ticket_rollup (day, status_id, priority_id, tickets, resolved, wall_micros, business_seconds, business_count, response_counted, response_met, resolution_counted, resolution_met) VALUES (CASE WHEN OLD.created_at >= 0 THEN OLD.created_at / 86400000000 ELSE (OLD.created_at + 1) / 86400000000 - 1 END, OLD.status_id, OLD.priority_id, -1, -(CASE WHEN OLD.resolved_at IS NULL THEN 0 ELSE 1 END), -COALESCE(CAST(OLD.resolved_at - OLD.created_at AS DOUBLE PRECISION), 0), -COALESCE(OLD.resolution_business_seconds, 0), -(CASE WHEN OLD.resolution_business_seconds IS NULL THEN 0 ELSE 1 END), -(CASE WHEN OLD.response_due_at IS NULL THEN 0 ELSE 1 END), -(CASE WHEN OLD.first_response_at <= OLD.response_due_at THEN 1 ELSE 0 END), -(CASE WHEN OLD.resolution_due_at IS NULL THEN 0 ELSE 1 END), -(CASE WHEN OLD.resolved_at <= OLD.resolution_due_at THEN 1 ELSE 0 END)), (CASE WHEN NEW.created_at >= 0 THEN NEW.created_at / 86400000000 ELSE (NEW.created_at + 1) / 86400000000 - 1 END, NEW.status_id, NEW.priority_id, 1, (CASE WHEN NEW.resolved_at IS NULL THEN 0 ELSE 1 END), COALESCE(CAST(NEW.resolved_at - NEW.created_at AS DOUBLE PRECISION), 0), COALESCE(NEW.resolution_business_seconds, 0), (CASE WHEN NEW.resolution_business_seconds IS NULL THEN 0 ELSE 1 END), (CASE WHEN NEW.response_due_at IS NULL THEN 0 ELSE 1 END), (CASE WHEN NEW.first_response_at <= NEW.response_due_at THEN 1 ELSE 0 END), (CASE WHEN NEW.resolution_due_at IS NULL THEN 0 ELSE 1 END), (CASE WHEN NEW.resolved_at <= NEW.resolution_due_at THEN 1 ELSE 0 END));
END;
CREATE TRIGGER tickets_rollup_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO ticket_rollup (day, status_id, priority_id, tickets, resolved, wall_micros, business_seconds, business_count, response_counted, response_met, resolution_counted, resolution_met) VALUES (CASE WHEN OLD.created_at >= 0 THEN OLD.created_at / 86400000000 ELSE (OLD.created_at + 1) / 86400000000 - 1 END, OLD.status_id, OLD.priority_id, -1, -(CASE WHEN OLD.resolved_at IS NULL THEN 0 ELSE 1 END), -COALESCE(CAST(OLD.resolved_at - OLD.created_at AS DOUBLE PRECISION), 0), -COALESCE(OLD.resolution_business_seconds, 0), -(CASE WHEN OLD.resolution_business_seconds IS NULL THEN 0 ELSE 1 END), -(CASE WHEN OLD.response_due_at IS NULL THEN 0 ELSE 1 END), -(CASE WHEN OLD.first_response_at <= OLD.response_due_at THEN 1 ELSE 0 END), -(CASE WHEN OLD.resolution_due_at IS NULL THEN 0 ELSE 1 END), -(CASE WHEN OLD.resolved_at <= OLD.resolution_due_at THEN 1 ELSE 0 END));
END;
CREATE TRIGGER time_entries_rollup_insert AFTER INSERT ON time_entries BEGIN
    INSERT INTO time_rollup (day, billable_minutes, non_billable_minutes) SELECT CASE WHEN t.created_at >= 0 THEN t.created_at / 86400000000 ELSE (t.created_at + 1) / 86400000000 - 1 END, (CASE WHEN NEW.billable <> 0 THEN NEW.minutes ELSE 0 END), (CASE WHEN NEW.billable <> 0 THEN 0 ELSE NEW.minutes END) FROM tickets t WHERE t.id = NEW.ticket_id;
END;
CREATE TRIGGER time_entries_rollup_update AFTER UPDATE ON time_entries WHEN OLD.ticket_id IS NOT NEW.ticket_id OR OLD.minutes IS NOT NEW.minutes OR OLD.billable IS NOT NEW.billable BEGIN
    INSERT INTO time_rollup (day, billable_minutes, non_billable_minutes) SELECT CASE WHEN t.created_at >= 0 THEN t.created_at / 86400000000 ELSE (t.created_at + 1) / 86400000000 - 1 END, -(CASE WHEN OLD.billable <> 0 THEN OLD.minutes ELSE 0 END), -(CASE WHEN OLD.billable <> 0 THEN 0 ELSE OLD.minutes END) FROM tickets t WHERE t.id = OLD.ticket_id;
    INSERT INTO time_rollup (day, billable_minutes, non_billable_minutes) SELECT CASE WHEN t.created_at >= 0 THEN t.created_at / 86400000000 ELSE (t.created_at + 1) / 86400000000 - 1 END, (CASE WHEN NEW.billable <> 0 THEN NEW.minutes ELSE 0 END), (CASE WHEN NEW.billable <> 0 THEN 0 ELSE NEW.minutes END) FROM tickets t WHERE t.id = NEW.ticket_id;
END;
CREATE TRIGGER time_entries_rollup_delete AFTER DELETE ON time_entries BEGIN
    INSERT INTO time_rollup (day, billable_minutes, non_billable_minutes) SELECT CASE WHEN t.created_at >= 0 THEN t.created_at / 86400000000 ELSE (t.created_at + 1) / 86400000000 - 1 END, -(CASE WHEN OLD.billable <> 0 THEN OLD.minutes ELSE 0 END), -(CASE WHEN OLD.billable <> 0 THEN 0 ELSE OLD.minutes END) FROM tickets t WHERE t.id = OLD.ticket_id;
END;
-- A ticket's time is reported by the ticket's day: if the ticket moves, its time moves.
CREATE TRIGGER tickets_rollup_time_moved AFTER UPDATE OF created_at ON tickets WHEN OLD.created_at IS NOT NEW.created_at BEGIN
    INSERT INTO time_rollup (day, billable_minutes, non_billable_minutes) SELECT CASE WHEN OLD.created_at >= 0 THEN OLD.created_at / 86400000000 ELSE (OLD.created_at + 1) / 86400000000 - 1 END, -COALESCE(SUM(CASE WHEN te.billable <> 0 THEN te.minutes ELSE 0 END), 0), -COALESCE(SUM(CASE WHEN te.billable <> 0 THEN 0 ELSE te.minutes END), 0) FROM time_entries te WHERE te.ticket_id = NEW.id;
    INSERT INTO time_rollup (day, billable_minutes, non_billable_minutes) SELECT CASE WHEN NEW.created_at >= 0 THEN NEW.created_at / 86400000000 ELSE (NEW.created_at + 1) / 86400000000 - 1 END, COALESCE(SUM(CASE WHEN te.billable <> 0 THEN te.minutes ELSE 0 END), 0), COALESCE(SUM(CASE WHEN te.billable <> 0 THEN 0 ELSE te.minutes END), 0) FROM time_entries te WHERE te.ticket_id = NEW.id;
END;
