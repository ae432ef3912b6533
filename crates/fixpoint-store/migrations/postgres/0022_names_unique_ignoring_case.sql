-- Catalogue names are unique ignoring (ASCII) case: fixpoint_core::catalog::check_name_free.
-- The rule sees what was committed before it, so two names differing only in case added
-- at the same instant both passed it on PostgreSQL; these keys refuse the second (translate() folds ASCII letters only, as the rule and SQLite's lower() do).
CREATE UNIQUE INDEX statuses_name_folded ON statuses (translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
CREATE UNIQUE INDEX priorities_name_folded ON priorities (translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
CREATE UNIQUE INDEX ticket_types_name_folded ON ticket_types (translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
CREATE UNIQUE INDEX ticket_categories_name_folded ON ticket_categories (translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
CREATE UNIQUE INDEX calendars_name_folded ON calendars (translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
CREATE UNIQUE INDEX sla_policies_name_folded ON sla_policies (translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
