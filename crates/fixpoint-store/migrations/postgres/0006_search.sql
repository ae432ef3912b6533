-- Full-text search over each ticket's title, description and notes, one row per
-- ticket, refreshed by the store whenever any of them changes.
--
-- fixpoint_words cuts text at ASCII punctuation and spaces before the 'simple'
-- configuration case-folds it (no stemming), so that PostgreSQL sees the same words
-- as SQLite's FTS5 twin: e-mail addresses, paths and numbers like 1.5 become their
-- parts on both.
CREATE FUNCTION fixpoint_words(body TEXT) RETURNS TSVECTOR
    LANGUAGE SQL IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector('simple', regexp_replace(body, '[\x01-\x2F\x3A-\x40\x5B-\x60\x7B-\x7F]+', ' ', 'g'));

CREATE TABLE ticket_search (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    document  TSVECTOR NOT NULL
);
CREATE INDEX ticket_search_document ON ticket_search USING gin(document);
INSERT INTO ticket_search (ticket_id, document)
SELECT t.id,
       setweight(fixpoint_words(t.title), 'A')
       || fixpoint_words(COALESCE(t.description, '') || ' ' || COALESCE(
              (SELECT string_agg(COALESCE(n.title, '') || ' ' || n.body, ' ')
                 FROM notes n WHERE n.ticket_id = t.id), ''))
  FROM tickets t;
