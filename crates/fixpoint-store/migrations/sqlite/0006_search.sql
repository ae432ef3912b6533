-- Full-text search over each ticket's title, description and notes, one row per
-- ticket (rowid = ticket id), refreshed by the store whenever any of them changes.
-- Words are runs of letters and digits, case-folded, diacritics kept: the same
-- words PostgreSQL's twin sees.
CREATE VIRTUAL TABLE ticket_search USING fts5(
    title, body, tokenize = "unicode61 remove_diacritics 0"
);
INSERT INTO ticket_search (rowid, title, body)
SELECT t.id, t.title,
       COALESCE(t.description, '') || ' ' || COALESCE(
           (SELECT group_concat(COALESCE(n.title, '') || ' ' || n.body, ' ')
              FROM notes n WHERE n.ticket_id = t.id), '')
  FROM tickets t;
